import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index.js';
import { loadNative } from '../../backend/native.js';
import { GEMM_SHAPES, type GemmRow, gemmTable } from '../../bench/gemm.js';
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
  gemm?: boolean;
  gemmChoices?: string;
  gemmThreads: string;
}

/** How `bench --gemm` times each product: rounds in which every kernel runs this long. */
const GEMM_ROUNDS = 5;
const GEMM_ROUND_SECONDS = 0.08;

/** `bench --gemm`: GFLOP/s of each matrix product kernel on the study's product shapes. */
function benchGemm(f: BenchFlags): void {
  const addon = loadNative();
  check(addon, 'bench --gemm: expected the native addon (run node scripts/build-native.mjs)');
  const available = addon.gemmChoices();
  const choices = f.gemmChoices
    ? f.gemmChoices.split(',').map((c) => c.trim())
    : available.filter(
        (c) => c !== 'own-portable' || !available.some((o) => o.startsWith('own-') && o !== c),
      );
  for (const c of choices)
    check(available.includes(c), `--gemm-choices ${c}: expected some of ${available.join(', ')}`);
  const threads = f.gemmThreads.split(',').map(Number);
  check(
    threads.every((t) => Number.isInteger(t) && t >= 1),
    `--gemm-threads ${f.gemmThreads}: expected positive integers such as 1,2`,
  );
  const wanted = f.only?.split(',').map((s) => s.trim());
  const shapes = wanted ? GEMM_SHAPES.filter((s) => wanted.some((n) => s.name.includes(n))) : GEMM_SHAPES;
  check(
    shapes.length > 0,
    `--only ${f.only}: no product shape matches; known: ${GEMM_SHAPES.map((s) => s.name).join(', ')}`,
  );
  const toStdout = f.json === true;
  const own = choices.filter((c) => c.startsWith('own'));
  const system = choices.find((c) => !c.startsWith('own'));
  // the ratio columns: the own kernel that POISONLAB_GEMM=own runs (the first: the widest) over the system library
  const ratio = (row: GemmRow, k: 'best' | 'median' | 'cpu') =>
    system && own[0] ? row.gflops[own[0]]![k] / row.gflops[system]![k] : Number.NaN;
  if (!toStdout) {
    console.log(
      `gemm: GFLOP/s of the fastest call (of the median call), ${GEMM_ROUNDS} rounds per kernel; own/system: ${own[0]} over ${system ?? 'none'} (fastest call, median call, CPU time)`,
    );
    console.log(
      `${'product'.padEnd(27)} op     m     n     k thr ${choices.map((c) => c.padStart(14)).join('')}${system ? '  own/system' : ''}`,
    );
  }
  const rows = gemmTable(
    addon,
    { shapes, choices, threads, rounds: GEMM_ROUNDS, seconds: GEMM_ROUND_SECONDS },
    (row) => {
      if (toStdout) return;
      const s = row.shape;
      const dims = [s.m, s.n, s.k].map((d) => String(d).padStart(5)).join(' ');
      const cells = choices
        .map((c) => `${row.gflops[c]!.best.toFixed(1)} (${row.gflops[c]!.median.toFixed(0)})`.padStart(14))
        .join('');
      const r = system
        ? `  ${ratio(row, 'best').toFixed(2)} (${ratio(row, 'median').toFixed(2)}) ${ratio(row, 'cpu').toFixed(2)}`
        : '';
      console.log(
        `${s.name.padEnd(27)} ${s.ta ? 'T' : 'N'}${s.tb ? 'T' : 'N'} ${dims} ${String(row.threads).padStart(3)} ${cells}${r}`,
      );
    },
  );
  const result = {
    gemm: addon.gemm(),
    choices,
    rows: rows.map((r) => ({
      ...r,
      ...(system
        ? { ownOverSystem: { best: ratio(r, 'best'), median: ratio(r, 'median'), cpu: ratio(r, 'cpu') } }
        : {}),
    })),
  };
  if (typeof f.json === 'string') {
    writeFileAtomic(f.json, `${JSON.stringify(result, null, 1)}\n`);
    note(false, `wrote ${f.json}`);
  } else if (toStdout) printJson(result);
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
    .option(
      '--gemm',
      "instead of the workloads: GFLOP/s of the addon's matrix products (own kernels, OpenBLAS) on the workloads' product shapes",
    )
    .option(
      '--gemm-choices <list>',
      'with --gemm: the products to time (default: every one but own-portable)',
    )
    .option('--gemm-threads <list>', 'with --gemm: thread counts', '1,2')
    .action(async (f: BenchFlags) => {
      const toStdout = f.json === true;
      if (typeof f.json === 'string') checkOutputFile(f.json, '--json');
      const backend = await initBackend({ quiet: toStdout });
      if (f.gemm) return benchGemm(f);
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
      const path = `${backend.backend}${backend.native ? '+native' : ''}`;
      if (!toStdout) console.log(`backend: ${path}${backend.gemm ? `, gemm: ${backend.gemm}` : ''}`);
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
      const result = { backend: path, gemm: backend.gemm ?? null, kernels: backend.kernels, workloads: rows };
      if (typeof f.json === 'string') {
        writeFileAtomic(f.json, `${JSON.stringify(result, null, 1)}\n`);
        note(false, `wrote ${f.json}`);
      } else if (toStdout) printJson(result);
    });
}
