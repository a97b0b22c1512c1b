/**
 * The theory's prediction across budgets (issue 18): the upper edge of the width window moves inward as the budget
 * grows, as 1 / (gamma^4 C^2) in regime A (Theorem: m <= c n / (gamma^4 S^2), S = C sqrt(n)) and, through the first
 * term of the per-sample tolerance, 1 / (sqrt(m d) + ...) >= B, as 1 / (B^2 d) in regime B. With the constants
 * unknown only ratios mean anything: from the peak measured at the smallest budget of a regime, a budget k times
 * larger predicts a peak k^2 times narrower. This table sets each measured best width beside that prediction.
 */
import { type ExperimentConfig, regimeLabel } from '../config/schema.js';
import type { CellStats } from '../results/index.js';
import { interiorMaximum } from './verdict.js';

export interface ScalingRow {
  regime: 'A' | 'B';
  label: string;
  budget: number;
  /** The widths run so far for the arm. */
  widths: number[];
  /** The width of highest mean accuracy, with its mean and fewest runs per width of the arm. */
  bestWidth: number;
  bestMean: number;
  runs: number;
  /** Whether the best width is an interior maximum that counts (>= 2 SE both sides, >= 3 runs), or an edge. */
  status: 'interior maximum' | 'interior, not decided' | 'edge';
  /** The peak the reference (smallest budget) predicts: bestWidth(ref) * (budget(ref) / budget)^2. */
  predicted?: number;
  /** The reference's label (absent on the reference row). */
  reference?: string;
}

/**
 * Which paper regime a registry attack (by name or alias) is, if any: A (overall l2,1 budget C) or B (per-sample
 * budget B), with its registry name, which an unlabelled entry's runs carry as their label. The report loads no
 * attack code (test/layers.test.ts): the CLI, which wires the layers, passes the registry's answer in.
 */
export type PaperRegimeOf = (attack: string) => { regime: 'A' | 'B'; name: string } | undefined;

/**
 * The arms of a config that are regime A or B, with their budgets: its `regimes` (B's deterministic shift aside)
 * and its `attacks` entries that `paperRegimeOf` says are one of the two gradient attacks (as the whole-set screen
 * writes them).
 */
function paperBudgets(
  config: ExperimentConfig,
  paperRegimeOf: PaperRegimeOf,
): Map<string, { regime: 'A' | 'B'; budget: number }> {
  const out = new Map<string, { regime: 'A' | 'B'; budget: number }>();
  for (const r of config.regimes)
    if (
      (r.regime === 'A' || (r.regime === 'B' && r.attack !== 'shift')) &&
      r.budget !== undefined &&
      r.budget > 0
    )
      out.set(regimeLabel(r), { regime: r.regime, budget: r.budget });
  for (const a of config.attacks ?? []) {
    const paper = paperRegimeOf(a.name);
    const budget = (a.params as { budget?: unknown } | undefined)?.budget;
    if (paper && typeof budget === 'number' && budget > 0)
      out.set(a.label ?? paper.name, { regime: paper.regime, budget });
  }
  return out;
}

/** Rows for every paper regime A or B with at least two budgets among the config's arms; empty otherwise. */
export function scalingRows(
  config: ExperimentConfig,
  cells: readonly CellStats[],
  paperRegimeOf: PaperRegimeOf = () => undefined,
): ScalingRow[] {
  const budgets = paperBudgets(config, paperRegimeOf);
  const rows: ScalingRow[] = [];
  for (const regime of ['A', 'B'] as const) {
    const arms = [...budgets]
      .filter(([, b]) => b.regime === regime)
      .sort((x, y) => x[1].budget - y[1].budget);
    if (arms.length < 2) continue;
    let ref: ScalingRow | undefined;
    for (const [label, { budget }] of arms) {
      const v = interiorMaximum(label, cells);
      if (!v) continue;
      const status =
        v.verdict === 'edge' ? 'edge' : v.verdict === 'seen' ? 'interior maximum' : 'interior, not decided';
      const row: ScalingRow = {
        regime,
        label,
        budget,
        widths: cells
          .filter((c) => c.label === label)
          .map((c) => c.width)
          .sort((x, y) => x - y),
        bestWidth: v.bestWidth,
        bestMean: v.bestMean,
        runs: v.minReps,
        status,
        ...(ref && { predicted: ref.bestWidth * (ref.budget / budget) ** 2, reference: ref.label }),
      };
      ref ??= row;
      rows.push(row);
    }
  }
  return rows;
}

const width = (m: number) =>
  m >= 1e4 ? m.toExponential(1).replace('e+', 'e') : m.toPrecision(3).replace(/\.0+$/, '');

/** The markdown table, with how to read an edge; empty without rows. */
export function scalingMarkdown(rows: readonly ScalingRow[]): string {
  if (rows.length === 0) return '';
  const lines = rows.map(
    (r) =>
      `| ${r.regime} | ${r.label} | ${r.budget} | ${r.widths.join(', ')} | m = ${r.bestWidth} (${(100 * r.bestMean).toFixed(2)} %, ${r.runs} run(s)) | ${r.status} | ${
        r.predicted === undefined ? 'reference' : `m ~ ${width(r.predicted)} (from ${r.reference})`
      } |`,
  );
  return [
    '',
    '## The theory across budgets',
    '',
    "The width window's upper edge scales as 1 / (gamma^4 C^2) in regime A and 1 / (B^2 d) in regime B: from the",
    "best width at a regime's smallest budget, a budget k times larger predicts a peak k^2 times narrower.",
    'A best width at an edge of the widths run is a bound on the peak (at or beyond that edge), not a measurement of',
    'it, and a prediction made from such a reference is a bound too.',
    '',
    '| regime | arm | budget | widths run | best width (mean, runs) | its shape | predicted peak |',
    '|---|---|---:|---|---|---|---|',
    ...lines,
    '',
  ].join('\n');
}
