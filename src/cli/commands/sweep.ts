import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import {
  applyOverrides,
  type ConfigOverrides,
  type ExperimentConfig,
  loadConfigFile,
  parseNumberList,
} from '../../config/schema.js';
import { parseShard } from '../../experiments/plan.js';
import { getPreset, PRESET_PROTOCOLS, presetNames, presetRaw } from '../../experiments/presets.js';
import { runQueueSweep } from '../../experiments/queue-coordinator.js';
import {
  checkSweepSucceeded,
  runSweep,
  STOP_GRACE_MS,
  type SweepEvent,
  type SweepSummary,
} from '../../experiments/sweep.js';
import { attackTakesEpochs, checkRegistryRefs } from '../../experiments/validate.js';
import { check } from '../../util/errors.js';
import { checkOutputFolder } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { sweepProgressView } from '../sweep-progress.js';

interface SweepFlags {
  preset?: string;
  config?: string;
  out?: string;
  workers?: number;
  shard?: string;
  runs?: string;
  force: boolean;
  widths?: string;
  reps?: number;
  limit?: number;
  testLimit?: number;
  maxEpochs?: number;
  patience?: number;
  attackEpochs?: number;
  folds?: string;
  dataset?: string;
  queue?: string;
  cache?: string;
  log: boolean;
  stopGrace: number;
  json: boolean;
}

/** Build the sweep config from --preset or --config plus the override flags. */
export function configFromFlags(
  f: Omit<
    SweepFlags,
    'out' | 'workers' | 'shard' | 'runs' | 'force' | 'json' | 'queue' | 'cache' | 'log' | 'stopGrace'
  >,
): ExperimentConfig {
  check(!(f.preset && f.config), 'sweep: give either --preset or --config, not both');
  check(f.preset || f.config, `sweep: --preset (${presetNames().join(', ')}) or --config FILE is required`);
  const source = f.config ?? `preset ${f.preset}`;
  const base = f.config
    ? checkRegistryRefs(loadConfigFile(f.config, presetRaw), f.config)
    : getPreset(f.preset!);
  const o: ConfigOverrides = {};
  if (f.widths) o.widths = parseNumberList(f.widths, '--widths');
  if (f.folds) o.folds = parseNumberList(f.folds, '--folds');
  if (f.reps !== undefined) o.repetitions = f.reps;
  if (f.limit !== undefined) o.limit = f.limit;
  if (f.testLimit !== undefined) o.testLimit = f.testLimit;
  if (f.maxEpochs !== undefined) o.maxEpochs = f.maxEpochs;
  if (f.patience !== undefined) o.patience = f.patience;
  if (f.attackEpochs !== undefined) o.attackEpochs = f.attackEpochs;
  if (f.dataset !== undefined) o.dataset = f.dataset;
  return checkRegistryRefs(applyOverrides(base, o, attackTakesEpochs), source);
}

/** Human-readable lines of a sweep's summary (regime x width means). */
export function summaryLines(s: SweepSummary): string[] {
  const lines = [
    `sweep ${s.name} (${s.configHash.slice(0, 12)})${s.shard ? ` shard ${s.shard}` : ''}: ${s.done} run(s) done, ` +
      `${s.skipped} already done, ${s.failed} failed, of ${s.runs}; ${s.seconds.toFixed(1)} s on ${s.workers} worker(s)` +
      (s.stopped ? '; stopped early, run again to continue' : ''),
  ];
  for (const c of s.cells)
    lines.push(
      `  ${c.label.padEnd(12)} m=${String(c.width).padEnd(7)} ${(100 * c.mean).toFixed(2)}% ± ${(100 * c.std).toFixed(2)} (${c.n})`,
    );
  return lines;
}

/** The override flags of a sweep config (sweep and slurm): --widths, --reps, ... --dataset. */
export function configOverrideOptions(cmd: Command): Command {
  return cmd
    .option('--widths <list>', 'override the widths, e.g. 10,100,1000')
    .option('--reps <n>', 'override the repetitions', parseNumberOption('--reps', { min: 1, integer: true }))
    .option('--folds <list>', 'override the validation folds to run, e.g. 0,1')
    .option(
      '--limit <n>',
      'override the training subset size',
      parseNumberOption('--limit', { min: 1, integer: true }),
    )
    .option(
      '--test-limit <n>',
      'override the test subset size',
      parseNumberOption('--test-limit', { min: 1, integer: true }),
    )
    .option(
      '--max-epochs <n>',
      'override the maximum training epochs',
      parseNumberOption('--max-epochs', { min: 1, integer: true }),
    )
    .option(
      '--patience <n>',
      'override the early-stopping patience',
      parseNumberOption('--patience', { min: 1, integer: true }),
    )
    .option(
      '--attack-epochs <n>',
      'override the attack epochs',
      parseNumberOption('--attack-epochs', { min: 0, integer: true }),
    )
    .option('--dataset <spec>', 'override the dataset');
}

export function register(program: Command): void {
  const cmd = program
    .command('sweep')
    .description('train every (regime, width, repetition, fold) of a sweep; resumable, shardable, parallel')
    .option('--preset <name>', `a built-in sweep: ${presetNames().join(', ')}`)
    .option('--config <file>', 'a sweep config (.json, .yaml)')
    .requiredOption('--out <dir>', 'the sweep folder (runs.sqlite, surrogate, poisons); re-run to continue')
    .option(
      '--workers <n>',
      'worker processes (default: the number of cores)',
      parseNumberOption('--workers', { min: 1, integer: true }),
    )
    .option('--shard <i/N>', 'run only shard i of N (deterministic by run key), e.g. 0/4')
    .option(
      '--runs <patterns>',
      "run only the runs whose keys match these comma-separated patterns ('*': any characters), e.g. 'B-B*/w10/*'; the config and folder stay the whole sweep's",
    )
    .option('--force', 'replace a different config stored in --out (old runs stop counting)', false);
  configOverrideOptions(cmd)
    .option(
      '--queue <url>',
      'coordinate workers on a BullMQ queue at redis://HOST:PORT instead of a local pool (see poisonlab worker)',
    )
    .option(
      '--cache <dir>',
      'a cache folder shared with other sweeps (Slurm array tasks): each surrogate and poison is built by one of them, under a lock',
    )
    .option(
      '--stop-grace <s>',
      'on SIGUSR1, how long the runs in flight may take to finish their epoch and checkpoint',
      parseNumberOption('--stop-grace', { min: 0 }),
      STOP_GRACE_MS / 1000,
    )
    .option('--log', 'one line per event on stderr (plan, artifacts, stored runs), for batch jobs', false)
    .option('--json', 'print one JSON summary object', false)
    .action(async (f: SweepFlags) => {
      checkOutputFolder(f.out!, '--out');
      if (f.cache !== undefined) checkOutputFolder(f.cache, '--cache');
      const config = configFromFlags(f);
      if (f.queue !== undefined) {
        check(f.runs === undefined, 'sweep: --runs is for local sweeps; with --queue, use --shard');
        check(
          f.cache === undefined,
          'sweep: --cache is for local and Slurm sweeps; with --queue, give each worker its --cache',
        );
        const summary = await queueSweepCommand(config, {
          url: f.queue,
          out: f.out!,
          shard: f.shard !== undefined ? parseShard(f.shard) : undefined,
          force: f.force,
          json: f.json,
        });
        if (f.json) printJson(summary);
        else for (const l of summaryLines(summary)) say(false, l);
        checkSweepSucceeded(summary);
        return;
      }
      const workers = f.workers ?? availableParallelism();
      const shard = f.shard !== undefined ? parseShard(f.shard) : undefined;
      // Slurm's --signal=B:USR1@SECONDS before the time limit: stop cleanly (runs in flight keep their last
      // per-epoch checkpoint), so that the requeued task continues. Node's default for USR1 is the debugger.
      const stop = new AbortController();
      const onUsr1 = () => {
        process.stderr.write(
          'poisonlab: sweep: SIGUSR1: stopping; the runs in flight resume from their last epoch\n',
        );
        stop.abort();
      };
      process.on('SIGUSR1', onUsr1);
      let summary: SweepSummary;
      try {
        summary = await sweepCommand(config, {
          out: f.out!,
          workers,
          shard,
          ...(f.runs !== undefined && { runs: f.runs }),
          force: f.force,
          json: f.json,
          log: f.log,
          stopGraceMs: 1000 * f.stopGrace,
          ...(f.cache !== undefined && { cache: f.cache }),
          signal: stop.signal,
        });
      } finally {
        process.off('SIGUSR1', onUsr1);
      }
      if (f.json) printJson(summary);
      else for (const l of summaryLines(summary)) say(false, l);
      checkSweepSucceeded(summary);
    });
}

/** Run a sweep with the terminal progress view (shared by `sweep` and `demo`). */
export async function sweepCommand(
  config: ExperimentConfig,
  o: {
    out: string;
    workers: number;
    shard?: ReturnType<typeof parseShard> | undefined;
    runs?: string;
    force: boolean;
    json: boolean;
    /** One line per event on stderr. */
    log?: boolean;
    cache?: string;
    signal?: AbortSignal;
    stopGraceMs?: number;
  },
): Promise<SweepSummary> {
  note(
    o.json,
    `sweep ${config.name}: ${config.dataset}, ${config.model}, widths ${config.widths.join(', ')} -> ${o.out}`,
  );
  const protocol = PRESET_PROTOCOLS[config.name];
  if (protocol) note(o.json, `protocol: ${protocol}`);
  const view = sweepProgressView({ json: o.json });
  try {
    return await runSweep(config, {
      out: o.out,
      workers: o.workers,
      ...(o.shard && { shard: o.shard }),
      ...(o.runs !== undefined && { runs: o.runs }),
      force: o.force,
      ...(o.cache !== undefined && { cache: o.cache }),
      ...(o.signal && { signal: o.signal }),
      ...(o.stopGraceMs !== undefined && { stopGraceMs: o.stopGraceMs }),
      onEvent: (e) => {
        view.onEvent(e);
        if (e.type === 'warning') process.stderr.write(`poisonlab: warning: ${e.message}\n`);
        if (o.log) {
          const line = eventLine(e);
          if (line) process.stderr.write(`${line}\n`);
        }
      },
    });
  } finally {
    view.stop();
  }
}

/** A sweep event as one log line (undefined for progress ticks). */
function eventLine(e: SweepEvent): string | undefined {
  switch (e.type) {
    case 'plan':
      return `plan: ${e.todo} run(s) to do, ${e.skipped} already done, ${e.poisons} poison(s) on ${e.workers} worker(s)`;
    case 'artifact':
      return `artifact ${e.name}: ${e.action}${e.contentHash ? ` (content ${e.contentHash.slice(0, 12)})` : ''}`;
    case 'task-start':
      return `start ${e.name}`;
    case 'run-done':
      return (
        `stored ${e.key} ${(100 * e.testAccuracy).toFixed(2)}% (${e.done}/${e.todo})` +
        (e.resumedAfter ? ` resumed after epoch ${e.resumedAfter}` : '')
      );
    case 'task-end':
      return e.ok ? undefined : `failed: ${e.message ?? e.name}`;
    default:
      return undefined;
  }
}

/** The coordinator of a queue sweep: progress bar on a terminal, one line per stored run otherwise. */
async function queueSweepCommand(
  config: ExperimentConfig,
  o: {
    url: string;
    out: string;
    shard?: ReturnType<typeof parseShard> | undefined;
    force: boolean;
    json: boolean;
  },
): Promise<SweepSummary> {
  note(o.json, `sweep ${config.name} on queue ${o.url}: ${config.dataset}, ${config.model} -> ${o.out}`);
  const tty = !o.json && process.stderr.isTTY;
  // Off a terminal (a batch job, a log file), one line per event on stderr, in --json mode too.
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const view = sweepProgressView({ json: o.json });
  try {
    return await runQueueSweep(config, {
      url: o.url,
      out: o.out,
      ...(o.shard && { shard: o.shard }),
      force: o.force,
      onWarning: (m) => process.stderr.write(`poisonlab: warning: ${m}\n`),
      onEvent: (e) => {
        view.onEvent(e);
        if (tty) return;
        if (e.type === 'plan')
          log(`plan: ${e.todo} run(s) to do, ${e.skipped} already done, ${e.poisons} poison(s)`);
        if (e.type === 'run-done')
          log(`stored ${e.key} ${(100 * e.testAccuracy).toFixed(2)}% (${e.done}/${e.todo})`);
        if (e.type === 'task-end' && !e.ok) log(`failed: ${e.message ?? e.name}`);
      },
    });
  } finally {
    view.stop();
  }
}
