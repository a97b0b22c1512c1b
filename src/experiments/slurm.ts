/**
 * A sweep as a Slurm array job plus a merge job (`poisonlab slurm`).
 *
 * Layout of the shared folder DIR (every node must mount it):
 *   DIR/sweep.json         the config, resolved once (every task computes the same config hash from it)
 *   DIR/slurm/array.sbatch one shard per array task: `poisonlab sweep --shard $SLURM_ARRAY_TASK_ID/N`
 *   DIR/slurm/merge.sbatch after the array (afterany): `poisonlab merge --complete DIR/merged DIR/shard-*`
 *   DIR/slurm/logs/        the jobs' output (appended across requeues)
 *   DIR/shard-<i>/         task i's own store (runs.sqlite): SQLite on NFS is only safe with one writer
 *   CACHE/<config hash>/   surrogate, poisons (each built by one task, under a lock) and run checkpoints
 *
 * Requeue: the array job is `--requeue` (a node failure or `scontrol requeue` starts the task again) and asks for
 * `--signal=B:USR1@<s>`: the batch shell forwards USR1 to the sweep, which stops its workers (each run in flight
 * keeps its last per-epoch checkpoint) and exits; the shell then requeues the task. A requeued task skips the runs
 * its store holds and resumes the others from their checkpoints, so no run is lost or counted twice.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configHash, type ExperimentConfig, loadConfigFile } from '../config/schema.js';
import { writeFileAtomic } from '../util/atomic.js';
import { check, PoisonlabError } from '../util/errors.js';
import { planRuns } from './plan.js';

export interface SlurmOptions {
  /** The shared sweep folder. */
  dir: string;
  /** Array tasks, one shard each. */
  tasks: number;
  /** The shared artifact cache (default DIR/cache). */
  cache?: string;
  partition?: string;
  /** Slurm's time format: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  time?: string;
  cpusPerTask: number;
  /** Memory per node, e.g. 16G. */
  mem?: string;
  /** At most this many array tasks at once (`--array=0-N%k`). */
  throttle?: number;
  /** Extra #SBATCH lines for both jobs, e.g. '--account=lab' or '--qos=long'. */
  sbatch?: string[];
  /** Seconds before the time limit that the task is told to stop and requeue itself. */
  signalSeconds: number;
  /** The merge job's time limit. */
  mergeTime?: string;
  /** The command that runs poisonlab on the nodes: the node binary and its arguments up to the CLI's main file. */
  command: string[];
  /** Folder the jobs run in (relative paths of the command resolve there). */
  workdir: string;
}

export interface SlurmScripts {
  dir: string;
  configPath: string;
  arrayPath: string;
  mergePath: string;
  array: string;
  merge: string;
  /** The config as written to DIR/sweep.json. */
  configJson: string;
  runs: number;
}

/** Quote a word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const TIME = /^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+|\d+-\d+:\d{2}|\d+-\d+:\d{2}:\d{2})$/;

/** Check the options in Slurm's own terms; each bad one is a one-line error naming the flag. */
export function checkSlurmOptions(o: SlurmOptions, runs: number): void {
  check(
    Number.isInteger(o.tasks) && o.tasks >= 1 && o.tasks <= runs,
    `--tasks: ${o.tasks} array tasks for ${runs} runs, expected 1 to ${runs} (one shard per task, each with runs)`,
  );
  for (const [flag, value] of [
    ['--time', o.time],
    ['--merge-time', o.mergeTime],
  ] as const)
    check(
      value === undefined || TIME.test(value),
      `${flag}: '${value}' is not a Slurm time, expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS`,
    );
  check(
    o.mem === undefined || /^\d+[KMGT]?$/.test(o.mem),
    `--mem: '${o.mem}' is not a Slurm memory size, expected a number with an optional K, M, G or T, e.g. 16G`,
  );
  check(
    o.partition === undefined || /^[\w.-]+(,[\w.-]+)*$/.test(o.partition),
    `--partition: '${o.partition}', expected a partition name (or a comma-separated list)`,
  );
  check(
    o.throttle === undefined || (Number.isInteger(o.throttle) && o.throttle >= 1),
    `--throttle: ${o.throttle}, expected a positive integer (tasks at once, Slurm's %k)`,
  );
  for (const line of o.sbatch ?? [])
    check(
      /^--?[A-Za-z]/.test(line.trim()) && !/[\n\r]/.test(line),
      `--sbatch: '${line}' is not an sbatch option, expected one line such as --account=lab or --qos=long`,
    );
}

/** The two batch scripts of a sweep (nothing is written). */
export function slurmScripts(config: ExperimentConfig, o: SlurmOptions): SlurmScripts {
  const runs = planRuns(config).length;
  checkSlurmOptions(o, runs);
  const dir = resolve(o.dir);
  const cache = resolve(o.cache ?? join(dir, 'cache'));
  const logs = join(dir, 'slurm', 'logs');
  const q = shellQuote;
  const poisonlab = o.command.map(q).join(' ');
  const configPath = join(dir, 'sweep.json');
  const common = [
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.sbatch ?? []).map((l) => `#SBATCH ${l.trim()}`),
    `#SBATCH --chdir=${q(resolve(o.workdir))}`,
    '#SBATCH --open-mode=append',
  ];
  const name = `poisonlab-${config.name}`.replace(/[^\w.-]/g, '_');
  const array = [
    '#!/bin/bash',
    `# poisonlab sweep ${config.name}: one shard per array task (${o.tasks} shards of ${runs} runs), written by`,
    '# `poisonlab slurm`; the merge job (merge.sbatch) runs after every task has ended.',
    `#SBATCH --job-name=${name}`,
    `#SBATCH --array=0-${o.tasks - 1}${o.throttle ? `%${o.throttle}` : ''}`,
    `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    '#SBATCH --requeue',
    `#SBATCH --signal=B:USR1@${o.signalSeconds}`,
    `#SBATCH --output=${q(join(logs, 'shard-%a.log'))}`,
    ...common,
    'set -u',
    'task=$SLURM_ARRAY_TASK_ID',
    // N is fixed here, not $SLURM_ARRAY_TASK_COUNT: re-submitting one task (sbatch --array=7) keeps its shard.
    `shard="$task/${o.tasks}"`,
    `echo "poisonlab: task $task (job \${SLURM_ARRAY_JOB_ID}_$task, restart \${SLURM_RESTART_COUNT:-0}) on $(hostname) at $(date -u +%FT%T.%3NZ)"`,
    // Before the time limit Slurm sends USR1 to this shell (B:): pass it on; the sweep stops and the task requeues.
    'child=',
    'stop=0',
    `trap 'stop=1; [ -n "$child" ] && kill -USR1 "$child"' USR1`,
    `${poisonlab} sweep --config ${q(configPath)} --out ${q(dir)}/shard-$task --shard "$shard" \\`,
    `  --workers "\${SLURM_CPUS_PER_TASK:-1}" --cache ${q(cache)} --stop-grace ${Math.floor(o.signalSeconds / 2)} --log &`,
    'child=$!',
    // `wait` returns early when the trap runs; wait again until the sweep has exited.
    'while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done',
    'echo "poisonlab: task $task ended (exit $rc) at $(date -u +%FT%T.%3NZ)"',
    'if [ "$stop" = 1 ]; then',
    `  echo "poisonlab: task $task stopped before its time limit; requeueing \${SLURM_ARRAY_JOB_ID}_$task"`,
    `  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_$task"`,
    '  exit 0',
    'fi',
    'exit "$rc"',
    '',
  ].join('\n');
  const merge = [
    '#!/bin/bash',
    `# Merge the shards of poisonlab sweep ${config.name} into DIR/merged (written by \`poisonlab slurm\`). It runs`,
    '# after every array task has ended (afterany) and fails, naming them, when runs of the config are missing.',
    `#SBATCH --job-name=${name}-merge`,
    '#SBATCH --cpus-per-task=1',
    ...(o.mergeTime ? [`#SBATCH --time=${o.mergeTime}`] : []),
    `#SBATCH --output=${q(join(logs, 'merge.log'))}`,
    ...common,
    'set -u',
    `${poisonlab} merge --complete ${q(join(dir, 'merged'))} ${q(dir)}/shard-*`,
    '',
  ].join('\n');
  return {
    dir,
    configPath,
    arrayPath: join(dir, 'slurm', 'array.sbatch'),
    mergePath: join(dir, 'slurm', 'merge.sbatch'),
    array,
    merge,
    configJson: `${JSON.stringify(config, null, 2)}\n`,
    runs,
  };
}

/** Run `sbatch --parsable ARGS`; its job id, or a one-line error with sbatch's own message. */
function sbatch(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync('sbatch', ['--parsable', ...args], { encoding: 'utf8', env });
  if (r.error)
    throw new PoisonlabError(
      `slurm: cannot run sbatch (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); expected Slurm's sbatch on the PATH (a login node of the cluster)`,
    );
  const out = r.stdout.trim();
  if (r.status !== 0 || !/^\d+(;\S+)?$/.test(out))
    throw new PoisonlabError(
      `slurm: sbatch ${args.join(' ')} failed (${(r.stderr || r.stdout).trim().split('\n').join('; ') || `exit code ${r.status}`}); expected a job id`,
    );
  return out.split(';')[0]!;
}

export interface SlurmSubmission {
  arrayJob: string;
  mergeJob: string;
  scripts: SlurmScripts;
}

/**
 * Write DIR/sweep.json and the two scripts, then submit the array job and the merge job that depends on it.
 * A DIR whose sweep.json holds another config is refused (its shards would not merge).
 */
export function submitSlurm(
  config: ExperimentConfig,
  s: SlurmScripts,
  opts: { env?: NodeJS.ProcessEnv } = {},
): SlurmSubmission {
  if (existsSync(s.configPath)) {
    const had = loadConfigFile(s.configPath);
    check(
      configHash(had) === configHash(config),
      `slurm: ${s.configPath} holds config ${had.name} (hash ${configHash(had).slice(0, 12)}), expected hash ` +
        `${configHash(config).slice(0, 12)} of ${config.name}; give another DIR (shards of two configs never merge)`,
    );
  }
  mkdirSync(join(s.dir, 'slurm', 'logs'), { recursive: true });
  writeFileAtomic(s.configPath, s.configJson);
  writeFileAtomic(s.arrayPath, s.array);
  writeFileAtomic(s.mergePath, s.merge);
  const env = opts.env ?? process.env;
  const arrayJob = sbatch([s.arrayPath], env);
  const mergeJob = sbatch(
    [`--dependency=afterany:${arrayJob}`, '--kill-on-invalid-dep=yes', s.mergePath],
    env,
  );
  return { arrayJob, mergeJob, scripts: s };
}
