import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index.js';
import { type BenchRow, runWorkload } from '../../bench/run.js';
import { WORKLOADS } from '../../bench/workloads.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { check, fileSystemError, PoisonlabError } from '../../util/errors.js';
import { checkOutputFile } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson } from '../output.js';

interface BenchFlags {
  json?: string | boolean;
  only?: string;
  steps: number;
  warmup: number;
  warmupSeconds: number;
  maxSeconds: number;
  compare?: string;
}

/** Reads the JSON written by torch_reference.py --json. */
function readTorch(path: string): Record<string, number> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { samples_per_s?: Record<string, number> };
    check(
      parsed.samples_per_s,
      `${path}: expected the JSON of torch_reference.py --json (a samples_per_s object)`,
    );
    return parsed.samples_per_s;
  } catch (e) {
    if (e instanceof PoisonlabError) throw e;
    throw (
      fileSystemError(e, { path, expected: 'the JSON of torch_reference.py --json' }) ??
      new PoisonlabError(`${path}: cannot read the PyTorch reference JSON (${(e as Error).message})`)
    );
  }
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('samples/s of the study workloads (the names of ../shared/bench/torch_reference.py)')
    .option(
      '--json [file]',
      'write the results as JSON to FILE (or print one JSON object when no file is given)',
    )
    .option(
      '--only <names>',
      'comma-separated workload names to run (a name that is not exact matches as a substring)',
    )
    .option(
      '--steps <n>',
      'timed steps per workload (median reported)',
      parseNumberOption('--steps', { min: 1, integer: true }),
      30,
    )
    .option(
      '--warmup <n>',
      'untimed warm-up steps (at least)',
      parseNumberOption('--warmup', { min: 0, integer: true }),
      3,
    )
    .option(
      '--warmup-seconds <s>',
      'untimed warm-up time per workload (at least)',
      parseNumberOption('--warmup-seconds', { min: 0 }),
      1,
    )
    .option(
      '--max-seconds <s>',
      'stop timing a workload after this long (at least 3 steps)',
      parseNumberOption('--max-seconds', { min: 0 }),
      4,
    )
    .option('--compare <torch.json>', 'print the ratio against the JSON written by torch_reference.py --json')
    .action(async (f: BenchFlags) => {
      const toStdout = f.json === true;
      if (typeof f.json === 'string') checkOutputFile(f.json, '--json');
      const backend = await initBackend({ quiet: toStdout });
      const wanted = f.only?.split(',').map((s) => s.trim());
      // an exact workload name selects just that one (m100 is a prefix of m1000); others match as substrings
      const isName = (n: string) => WORKLOADS.some((w) => w.name === n);
      const selected = wanted
        ? WORKLOADS.filter((w) => wanted.some((n) => w.name === n || (!isName(n) && w.name.includes(n))))
        : WORKLOADS;
      check(
        selected.length > 0,
        `--only ${f.only}: no workload matches; known: ${WORKLOADS.map((w) => w.name).join(', ')}`,
      );
      const torch = f.compare ? readTorch(f.compare) : undefined;
      const rows: (BenchRow & { torchSamplesPerSecond?: number; ratio?: number })[] = [];
      const path = `${backend.backend}${backend.native ? '+openblas' : ''}`;
      if (!toStdout) console.log(`backend: ${path}`);
      for (const w of selected) {
        const row = runWorkload(w, {
          warmup: f.warmup,
          warmupSeconds: f.warmupSeconds,
          steps: f.steps,
          maxSeconds: f.maxSeconds,
        });
        const ref = torch?.[w.name];
        const full: BenchRow & { torchSamplesPerSecond?: number; ratio?: number } = ref
          ? { ...row, torchSamplesPerSecond: ref, ratio: row.samplesPerSecond / ref }
          : row;
        rows.push(full);
        if (!toStdout) {
          const ratio =
            full.ratio !== undefined ? `  ${full.ratio.toFixed(2)}x torch (${ref!.toFixed(1)})` : '';
          console.log(
            `${w.name.padEnd(26)} ${row.samplesPerSecond.toFixed(1).padStart(9)} samples/s${ratio}`,
          );
        }
      }
      const result = { backend: path, kernels: backend.kernels, workloads: rows };
      if (typeof f.json === 'string') {
        writeFileAtomic(f.json, `${JSON.stringify(result, null, 1)}\n`);
        note(false, `wrote ${f.json}`);
      } else if (toStdout) printJson(result);
    });
}
