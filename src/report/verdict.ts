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
  /** diff / se (+-Infinity when se = 0 and diff != 0). */
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
  /**
   * What the runs decide (issue 18's three outcomes): 'interior maximum' (verdict 'seen'); 'no interior maximum'
   * when, with >= 3 repetitions, every interior width is >= 2 SE below one of the two edges; else 'undecided'.
   */
  outcome: 'interior maximum' | 'no interior maximum' | 'undecided';
  /** For an undecided curve: the comparison that would decide it, and what more runs would buy. */
  power?: PowerNote;
}

/**
 * The comparison nearest to deciding an undecided curve (either way), and the repetitions per width that would
 * decide it at the difference and spread seen so far.
 */
export interface PowerNote {
  /** The width whose comparison decides (the best interior width, or the interior width nearest its edge). */
  width: number;
  /** The edge it is compared with. */
  edge: number;
  /** Which outcome more runs would show if the difference seen holds. */
  towards: 'interior maximum' | 'no interior maximum';
  comparison: EdgeComparison;
  /**
   * Repetitions per width for 80 % power at the 2 SE rule if the true difference is the one seen:
   * n = (2 + 0.84)^2 (s_a^2 + s_b^2) / diff^2 (normal approximation); undefined without a spread (fewer than 2
   * runs per width) or without a difference.
   */
  runsFor80?: number;
  /** The chance that the runs made so far reach 2 SE if the difference seen is the true one: Phi(|z| - 2). */
  powerNow?: number;
}

/** Standard normal distribution function (Abramowitz-Stegun 7.1.26 for erf, |error| < 1.5e-7). */
export function phi(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function powerNote(a: CellStats, b: CellStats, towards: PowerNote['towards'], c: EdgeComparison): PowerNote {
  const spread = a.std ** 2 + b.std ** 2;
  const hasSpread = Math.min(a.n, b.n) >= 2 && spread > 0 && c.diff !== 0;
  return {
    width: a.width,
    edge: b.width,
    towards,
    comparison: c,
    ...(hasSpread && {
      runsFor80: Math.ceil(((2 + 0.8416) ** 2 * spread) / c.diff ** 2),
      powerNow: phi(Math.abs(c.z) - 2),
    }),
  };
}

/** The outcome of a curve and, when undecided, the comparison nearest to deciding it. */
function decide(
  own: readonly CellStats[],
  best: CellStats,
  verdict: InteriorMaximum['verdict'],
  left?: EdgeComparison,
  right?: EdgeComparison,
): Pick<InteriorMaximum, 'outcome' | 'power'> {
  if (verdict === 'seen') return { outcome: 'interior maximum' };
  const first = own[0]!;
  const last = own[own.length - 1]!;
  const interior = own.slice(1, -1);
  if (best !== first && best !== last && left && right) {
    // an interior best that does not count yet: its weaker side decides
    const weaker = left.z <= right.z ? { c: left, edge: first } : { c: right, edge: last };
    return { outcome: 'undecided', power: powerNote(best, weaker.edge, 'interior maximum', weaker.c) };
  }
  if (interior.length === 0) return { outcome: 'undecided' };
  // the best width is an edge: is every interior width clearly below an edge? The least clear one decides.
  const below = interior.map((w) => {
    const [l, r] = [compare(first, w), compare(last, w)];
    return l.z >= r.z ? { w, edge: first, c: l } : { w, edge: last, c: r };
  });
  const weakest = below.reduce((x, y) => (y.c.z < x.c.z ? y : x));
  const reps = Math.min(...own.map((c) => c.n));
  if (weakest.c.z >= 2 && reps >= MIN_REPS_FOR_VERDICT) return { outcome: 'no interior maximum' };
  return {
    outcome: 'undecided',
    power: powerNote(weakest.w, weakest.edge, 'no interior maximum', weakest.c),
  };
}

/**
 * a's mean minus b's, the standard error of that difference, sqrt(s_a^2 / n_a + s_b^2 / n_b), and their ratio
 * (+-Infinity for a difference without spread, 0 for none). The one two-SE rule of every verdict and trend.
 */
export function meanDifference(a: CellStats, b: CellStats): { diff: number; se: number; z: number } {
  const diff = a.mean - b.mean;
  const se = Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n);
  const z = se > 0 ? diff / se : diff === 0 ? 0 : Math.sign(diff) * Number.POSITIVE_INFINITY;
  return { diff, se, z };
}

function compare(best: CellStats, edge: CellStats): EdgeComparison {
  return { width: edge.width, ...meanDifference(best, edge) };
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
    return {
      ...base,
      minReps: Math.min(...own.map((c) => c.n)),
      verdict: 'edge',
      ...decide(own, best, 'edge'),
    };
  const left = compare(best, first);
  const right = compare(best, last);
  const minReps = Math.min(best.n, first.n, last.n);
  const significant = left.z >= 2 && right.z >= 2;
  const verdict = !significant ? 'not-significant' : minReps < MIN_REPS_FOR_VERDICT ? 'too-few-reps' : 'seen';
  return { ...base, left, right, minReps, verdict, ...decide(own, best, verdict, left, right) };
}

const pts = (v: number) => (100 * v).toFixed(2);

function side(e: EdgeComparison): string {
  const z = Number.isFinite(e.z) ? `${e.z.toFixed(1)} SE` : 'no spread';
  return `${e.diff >= 0 ? '+' : ''}${pts(e.diff)} ± ${pts(e.se)} pts over m = ${e.width} (${z})`;
}

/** What an undecided curve would need, e.g. `undecided: m = 1000 against m = 10 ... about 6 runs per width`. */
function describePower(v: InteriorMaximum): string {
  const p = v.power;
  if (v.outcome !== 'undecided' || !p) return '';
  const need =
    p.runsFor80 === undefined
      ? 'no spread to size more runs by (>= 2 runs per width needed)'
      : `${(100 * p.powerNow!).toFixed(0)} % power now; about ${p.runsFor80} runs per width for 80 % power at this difference`;
  return `; undecided after ${v.minReps} run(s) per width: towards ${p.towards}, m = ${p.width} against m = ${p.edge}, ${need}`;
}

/** One line, e.g. `A-C500: interior maximum seen at m = 1000: +2.10 ± 0.80 pts over m = 10 (2.6 SE), ...`. */
export function describeInteriorMaximum(v: InteriorMaximum): string {
  return describeVerdict(v) + describePower(v);
}

function describeVerdict(v: InteriorMaximum): string {
  const at = `m = ${v.bestWidth} (${pts(v.bestMean)} %)`;
  switch (v.verdict) {
    case 'edge':
      return v.outcome === 'no interior maximum'
        ? `${v.label}: no interior maximum (>= 2 SE): the best width is an edge, ${at}, and every interior width is >= 2 SE below an edge; ${v.minReps} reps`
        : `${v.label}: no interior maximum seen: the best width is an edge, ${at}`;
    case 'seen':
      return `${v.label}: interior maximum seen at ${at}: ${side(v.left!)}, ${side(v.right!)}; ${v.minReps} reps`;
    case 'not-significant':
      return `${v.label}: interior maximum at ${at} but under 2 SE: ${side(v.left!)}, ${side(v.right!)}; ${v.minReps} reps`;
    case 'too-few-reps':
      return `${v.label}: interior maximum at ${at}, ${side(v.left!)}, ${side(v.right!)}; only ${v.minReps} rep(s), ${MIN_REPS_FOR_VERDICT} needed to count`;
  }
}
