import type { Command } from 'commander';
import { numClasses, numSamples, sampleSize } from '../../data/dataset.js';
import {
  DATASET_DEFAULTS,
  type DatasetDefaults,
  datasetDefaults,
  findDatasetFamily,
} from '../../data/defaults.js';
import { type TheoryBounds, type TheoryInput, type TheoryRegime, theoryBounds } from '../../theory/bounds.js';
import type { MarginEstimate } from '../../theory/margin.js';
import { check } from '../../util/errors.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress } from '../progress.js';

/** A copy of `value` that JSON can carry: Infinity (an unbounded width) becomes null. */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
  );
}

const fmt = (v: number | undefined) =>
  v === undefined
    ? '-'
    : Number.isFinite(v)
      ? Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3
        ? v.toExponential(3)
        : v.toPrecision(4)
      : 'infinity';

const REGIME_TITLE: Record<TheoryRegime, string> = {
  A: 'regime A (clean-label, overall l2,1 budget S = C sqrt(n))',
  B: 'regime B (clean-label, per-sample budget B)',
  C: 'regime C (label flips with probability beta)',
};

/** The readable summary of one theoryBounds result, one string per line. */
export function describeBounds(b: TheoryBounds, input: TheoryInput): string[] {
  const lines = [
    `${REGIME_TITLE[b.regime]}: n = ${b.n}, d = ${b.d}, gamma = ${fmt(b.gamma)}, delta = ${b.delta}` +
      (input.budget !== undefined ? `, ${b.regime === 'A' ? 'C' : 'B'} = ${input.budget}` : '') +
      (input.beta !== undefined ? `, beta = ${input.beta}` : ''),
    `  error bound     ${fmt(b.errorBound)}${b.vacuous ? '  (>= 1: vacuous)' : ''}  average test error, prob >= 1 - delta`,
  ];
  const max =
    b.widthMax === undefined ? '(give a budget or beta for the upper end)' : `m <= ${fmt(b.widthMax)}`;
  lines.push(`  width window    m >= ${fmt(b.widthMin)}  ${max}${b.windowEmpty ? '  EMPTY' : ''}`);
  if (b.S !== undefined) lines.push(`  overall budget  S = C sqrt(n) = ${fmt(b.S)}`);
  if (b.maxPerSample !== undefined)
    lines.push(`  per-sample cap  ||delta_i|| <= c gamma / sqrt(d) = ${fmt(b.maxPerSample)}`);
  if (input.width !== undefined) {
    if (b.maxOverallBudget !== undefined)
      lines.push(
        `  width m = ${input.width} tolerates C <= ${fmt(b.maxOverallBudget)} (S <= ${fmt(b.maxOverallBudget * Math.sqrt(b.n))})`,
      );
    if (b.maxBudget !== undefined)
      lines.push(`  width m = ${input.width} tolerates B <= ${fmt(b.maxBudget)}`);
    if (b.maxBeta !== undefined) lines.push(`  width m = ${input.width} tolerates beta <= ${fmt(b.maxBeta)}`);
  }
  for (const c of b.conditions) {
    const mark = c.holds === null ? '?' : c.holds ? 'ok' : 'NO';
    lines.push(`  [${mark.padStart(2)}] ${c.name}: ${c.detail}`);
  }
  for (const n of b.notes) lines.push(`  note: ${n}`);
  return lines;
}

interface BoundsFlags {
  regime: string;
  n: number;
  d: number;
  gamma: number;
  delta: number;
  budget?: number;
  beta?: number;
  width?: number;
  constant?: number;
  json: boolean;
}

interface MarginFlags {
  dataset: string;
  classes?: string;
  limit?: number;
  samples: number;
  evalSamples?: number;
  iterations: number;
  repeats: number;
  seed: number;
  delta: number;
  budgetA?: number;
  budgetB?: number;
  beta?: number;
  width?: number;
  constant?: number;
  json: boolean;
}

/** The paper's default budgets for a dataset: regime A's C, regime B's B, regime C's beta. */
export function defaultBudgets(dataset: string, expected?: string): DatasetDefaults['theory'] {
  return datasetDefaults(dataset, expected).theory;
}

/** The dataset's budgets when it has defaults, else undefined (only regime A's optional C is asked then). */
function findDefaultBudgets(dataset: string): DatasetDefaults['theory'] | undefined {
  const family = findDatasetFamily(dataset);
  return family ? DATASET_DEFAULTS[family].theory : undefined;
}

function regimeOf(s: string): TheoryRegime {
  const r = s.toUpperCase();
  check(r === 'A' || r === 'B' || r === 'C', `--regime: expected A, B or C, got '${s}'`);
  return r;
}

/** Registers `poisonlab theory bounds` and `poisonlab theory margin`. */
export function register(program: Command): void {
  const theory = program
    .command('theory')
    .description("the paper's theory: error bounds and width windows, and the NTK margin gamma of a dataset");

  theory
    .command('bounds')
    .description(
      'error bound, window of widths m, and the budget or flip rate a width tolerates (constants = c, log factors dropped)',
    )
    .requiredOption('--regime <r>', 'A (overall l2,1 budget), B (per-sample budget) or C (label flips)')
    .requiredOption(
      '--n <n>',
      'number of training samples',
      parseNumberOption('--n', { min: 1, integer: true }),
    )
    .requiredOption('--d <d>', 'input dimension', parseNumberOption('--d', { min: 1, integer: true }))
    .requiredOption('--gamma <g>', 'NTK separability margin, 0 < gamma <= 1', parseNumberOption('--gamma'))
    .option('--delta <p>', 'failure probability over SGD', parseNumberOption('--delta'), 0.05)
    .option(
      '--budget <b>',
      'regime A: C in S = C sqrt(n); regime B: per-sample B',
      parseNumberOption('--budget', { min: 0 }),
    )
    .option('--beta <b>', 'regime C: label flip rate', parseNumberOption('--beta', { min: 0, max: 1 }))
    .option(
      '--width <m>',
      'a width to check: what budget or flip rate it tolerates',
      parseNumberOption('--width', { min: 1, integer: true }),
    )
    .option('--constant <c>', 'the constant every ~O(.) stands for', parseNumberOption('--constant'), 1)
    .option('--json', 'print one JSON object', false)
    .action((f: BoundsFlags) => {
      const input: TheoryInput = {
        regime: regimeOf(f.regime),
        n: f.n,
        d: f.d,
        gamma: f.gamma,
        delta: f.delta,
        ...(f.budget !== undefined && { budget: f.budget }),
        ...(f.beta !== undefined && { beta: f.beta }),
        ...(f.width !== undefined && { width: f.width }),
        ...(f.constant !== undefined && { constant: f.constant }),
      };
      const b = theoryBounds(input);
      if (f.json) printJson(jsonSafe(b));
      else for (const line of describeBounds(b, input)) say(false, line);
    });

  theory
    .command('margin')
    .description(
      'estimate the NTK margin gamma of a binary dataset (mirror descent on the minimax dual) and the bounds it implies',
    )
    .requiredOption('--dataset <spec>', 'mnist, fashion-mnist, cifar10, toy, a directory, or a poisoned .npz')
    .option(
      '--classes <a,b>',
      "binary task (class a -> -1, b -> +1), or 'even-odd'; needed unless the data is binary",
    )
    .option(
      '--limit <n>',
      'use only the first n training samples',
      parseNumberOption('--limit', { min: 1, integer: true }),
    )
    .option(
      '--samples <k>',
      'draws of z for the optimisation',
      parseNumberOption('--samples', { min: 1, integer: true }),
      128,
    )
    .option(
      '--eval-samples <k>',
      'fresh draws of z for the final value (default 4 x samples)',
      parseNumberOption('--eval-samples', { min: 1, integer: true }),
    )
    .option(
      '--iterations <t>',
      'mirror descent iterations',
      parseNumberOption('--iterations', { min: 1, integer: true }),
      150,
    )
    .option(
      '--repeats <r>',
      'independent repeats, for the spread',
      parseNumberOption('--repeats', { min: 1, integer: true }),
      3,
    )
    .option('--seed <s>', 'seed of the draws of z', parseNumberOption('--seed', { min: 0, integer: true }), 0)
    .option('--delta <p>', 'failure probability for the bounds', parseNumberOption('--delta'), 0.05)
    .option(
      '--budget-a <C>',
      "regime A's C (default: the paper's, 500 MNIST / 1000 CIFAR-10)",
      parseNumberOption('--budget-a', { min: 0 }),
    )
    .option(
      '--budget-b <B>',
      "regime B's per-sample B (default 1; toy 0.975)",
      parseNumberOption('--budget-b', { min: 0 }),
    )
    .option(
      '--beta <b>',
      "regime C's flip rate (default 0.1; toy 0.4)",
      parseNumberOption('--beta', { min: 0, max: 1 }),
    )
    .option(
      '--width <m>',
      'a width to check against the bounds',
      parseNumberOption('--width', { min: 1, integer: true }),
    )
    .option('--constant <c>', 'the constant every ~O(.) stands for', parseNumberOption('--constant'), 1)
    .option('--json', 'print one JSON object', false)
    .action(async (f: MarginFlags) => {
      // Loaded here, so that `theory bounds` starts without tfjs and the data loaders.
      const [{ initBackend }, { loadDataset }, { estimateMargin }] = await Promise.all([
        import('../../backend/index.js'),
        import('../../data/index.js'),
        import('../../theory/margin.js'),
      ]);
      const backend = await initBackend({ quiet: f.json });
      // The dataset's budgets fill missing --budget-b / --beta (and --budget-a); none known: refused before any work.
      const defaults =
        f.budgetB === undefined || f.beta === undefined
          ? defaultBudgets(f.dataset, '--budget-b and --beta (and --budget-a for regime A)')
          : findDefaultBudgets(f.dataset);
      const { train } = await loadDataset(f.dataset, {
        ...(f.limit !== undefined && { limit: f.limit }),
        ...(f.classes !== undefined && { classes: f.classes }),
      });
      check(
        numClasses(train) === 2,
        `${train.name}: the margin needs a binary task, found ${numClasses(train)} classes (pass --classes a,b)`,
      );
      const n = numSamples(train);
      const d = sampleSize(train);
      note(
        f.json,
        `${train.name}: n = ${n}, d = ${d}, backend ${backend.backend}${backend.native ? '+native' : ''}`,
      );
      const progress = createProgress({ json: f.json });
      progress.start(f.repeats * f.iterations, 'margin');
      const t0 = performance.now();
      let est: MarginEstimate;
      try {
        est = estimateMargin(train.x, train.y, d, {
          samples: f.samples,
          ...(f.evalSamples !== undefined && { evalSamples: f.evalSamples }),
          iterations: f.iterations,
          repeats: f.repeats,
          seed: f.seed,
          onProgress: (done) => progress.update(done),
        });
      } finally {
        progress.stop();
      }
      const seconds = (performance.now() - t0) / 1000;
      const budgetA = f.budgetA ?? defaults?.budgetA;
      const common = {
        n,
        d,
        gamma: Math.min(1, est.gamma),
        delta: f.delta,
        ...(f.width !== undefined && { width: f.width }),
        ...(f.constant !== undefined && { constant: f.constant }),
      };
      const inputs: TheoryInput[] = [
        { regime: 'A', ...common, ...(budgetA !== undefined && { budget: budgetA }) },
        { regime: 'B', ...common, budget: f.budgetB ?? defaults!.budgetB },
        { regime: 'C', ...common, beta: f.beta ?? defaults!.beta },
      ];
      check(
        est.gamma > 0,
        `${train.name}: estimated margin is 0 (a sample appears with both labels?): no bound applies`,
      );
      const bounds = inputs.map((i) => theoryBounds(i));
      if (f.json) {
        printJson(
          jsonSafe({
            dataset: train.name,
            n,
            d,
            gamma: est.gamma,
            spread: est.spread,
            perRepeat: est.perRepeat,
            inSample: est.inSample,
            support: est.support,
            samples: est.samples,
            evalSamples: est.evalSamples,
            iterations: est.iterations,
            repeats: f.repeats,
            seed: f.seed,
            seconds,
            backend: backend.backend,
            bounds: { A: bounds[0], B: bounds[1], C: bounds[2] },
          }),
        );
        return;
      }
      say(false, `${train.name}: n = ${n}, d = ${d}`);
      say(
        false,
        `NTK margin gamma ~ ${fmt(est.gamma)} +- ${fmt(est.spread)} (std over ${f.repeats} repeats; ` +
          `${est.samples} draws of z to optimise, ${est.evalSamples} fresh to evaluate, ${est.iterations} iterations; ` +
          `${est.support} samples carry the minimising distribution; ${seconds.toFixed(1)} s)`,
      );
      say(
        false,
        '  (an over-estimate by the optimisation gap only: every distribution p gives an upper bound on gamma)',
      );
      bounds.forEach((b, i) => {
        for (const line of describeBounds(b, inputs[i]!)) say(false, line);
      });
    });
}
