import type { CellStats } from '../results/index.js';

/** Fewest repetitions per width for the interior-maximum test to count (issue 10's rule). */
export const MIN_REPS_FOR_VERDICT = 3;

/** One side of the U: the best width's accuracy against an edge width's. */
export interface EdgeComparison {
  width: number;
  /** mean(best) - mean(edge), as a fraction. */
  diff: number;
  /** Standard error of that difference: sqrt(s_best^2 / n_best + s_edge^2 / n_edge). */
  se: number;
  /** diff / se (Infinity when se = 0 and diff > 0). */
  z: number;
}

/** Whether a regime's curve has an interior maximum (the U of the paper, upside down in accuracy). */
export interface InteriorMaximum {
  label: string;
  bestWidth: number;
  bestMean: number;
  /** The narrowest and widest widths against the best one (absent when the best is that edge). */
  left?: EdgeComparison;
  right?: EdgeComparison;
  /** Fewest runs in any of the three cells compared. */
  minReps: number;
  /**
   * 'seen': the best width is interior and beats both edges by >= 2 standard errors of the difference, with
   * >= 3 repetitions; 'not-significant': interior but a margin under 2 SE; 'edge': the best width is the
   * narrowest or widest; 'too-few-reps': interior with >= 2 SE but fewer than 3 repetitions.
   */
  verdict: 'seen' | 'not-significant' | 'edge' | 'too-few-reps';
}

function compare(best: CellStats, edge: CellStats): EdgeComparison {
  const diff = best.mean - edge.mean;
  const se = Math.sqrt(best.std ** 2 / best.n + edge.std ** 2 / edge.n);
  const z = se > 0 ? diff / se : diff > 0 ? Number.POSITIVE_INFINITY : 0;
  return { width: edge.width, diff, se, z };
}

/**
 * The interior-maximum test of one regime's cells (any widths, any order): the width of highest mean
 * accuracy, compared with the narrowest and the widest width by the standard error of the difference of means.
 */
export function interiorMaximum(label: string, cells: readonly CellStats[]): InteriorMaximum | undefined {
  const own = cells.filter((c) => c.label === label).sort((a, b) => a.width - b.width);
  if (own.length === 0) return undefined;
  const best = own.reduce((b, c) => (c.mean > b.mean ? c : b));
  const first = own[0]!;
  const last = own[own.length - 1]!;
  const base = { label, bestWidth: best.width, bestMean: best.mean };
  if (best === first || best === last || own.length < 3)
    return { ...base, minReps: Math.min(...own.map((c) => c.n)), verdict: 'edge' };
  const left = compare(best, first);
  const right = compare(best, last);
  const minReps = Math.min(best.n, first.n, last.n);
  const significant = left.z >= 2 && right.z >= 2;
  const verdict = !significant ? 'not-significant' : minReps < MIN_REPS_FOR_VERDICT ? 'too-few-reps' : 'seen';
  return { ...base, left, right, minReps, verdict };
}

const pts = (v: number) => (100 * v).toFixed(2);

function side(e: EdgeComparison): string {
  const z = Number.isFinite(e.z) ? `${e.z.toFixed(1)} SE` : 'no spread';
  return `${e.diff >= 0 ? '+' : ''}${pts(e.diff)} ± ${pts(e.se)} pts over m = ${e.width} (${z})`;
}

/** One line, e.g. `A-C500: interior maximum seen at m = 1000: +2.10 ± 0.80 pts over m = 10 (2.6 SE), ...`. */
export function describeInteriorMaximum(v: InteriorMaximum): string {
  const at = `m = ${v.bestWidth} (${pts(v.bestMean)} %)`;
  switch (v.verdict) {
    case 'edge':
      return `${v.label}: no interior maximum: the best width is an edge, ${at}`;
    case 'seen':
      return `${v.label}: interior maximum seen at ${at}: ${side(v.left!)}, ${side(v.right!)}; ${v.minReps} reps`;
    case 'not-significant':
      return `${v.label}: interior maximum at ${at} but under 2 SE: ${side(v.left!)}, ${side(v.right!)}; ${v.minReps} reps`;
    case 'too-few-reps':
      return `${v.label}: interior maximum at ${at}, ${side(v.left!)}, ${side(v.right!)}; only ${v.minReps} rep(s), ${MIN_REPS_FOR_VERDICT} needed to count`;
  }
}
