/**
 * A report tests many width trends at once (every arm of every metric). At 2 SE each one passes by chance with
 * probability 4.6 %, so a long report shows some by chance alone. Holm's step-down procedure keeps those that
 * survive a family-wise error rate of 5 %: with the K counted trends sorted by p, the i-th smallest (from 1) must be
 * <= 0.05 / (K - i + 1), and the first that is not ends the list. A trend's p is the two-sided normal p-value of the
 * difference that decides its shape: the weaker side of an interior extremum, widest against narrowest otherwise.
 */
import type { WidthTrend } from './trend.js';
import { MIN_REPS_FOR_VERDICT, phi } from './verdict.js';

/** One trend of the report's family, and the metric it belongs to. */
export interface TrendTest {
  metric: string;
  trend: WidthTrend;
}

export const FAMILY_WISE_ALPHA = 0.05;

/** The two-sided normal p-value of the difference that decides `t`'s shape (1 when there is none). */
export function trendP(t: WidthTrend): number {
  if (t.sides.length === 0) return 1;
  const z = Math.min(...t.sides.map((s) => Math.abs(s.z)));
  return Number.isFinite(z) ? Math.min(1, 2 * (1 - phi(z))) : 0;
}

/** The counted trends (enough runs per width) with their p, and whether Holm's procedure keeps each. */
export function holm(
  tests: readonly TrendTest[],
  alpha = FAMILY_WISE_ALPHA,
): (TrendTest & { p: number; kept: boolean })[] {
  const counted = tests.filter((t) => t.trend.minReps >= MIN_REPS_FOR_VERDICT && t.trend.sides.length > 0);
  const sorted = counted.map((t) => ({ ...t, p: trendP(t.trend), kept: false })).sort((a, b) => a.p - b.p);
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]!.p > alpha / (sorted.length - i)) break;
    sorted[i]!.kept = true;
  }
  return sorted;
}

/** A p-value as the report writes it: below 1e-6 (the normal approximation's own error) only as a bound. */
const fmtP = (p: number) => (p < 1e-6 ? 'p < 1e-6' : `p = ${p < 1e-3 ? p.toExponential(1) : p.toFixed(3)}`);

/** The report's `## Multiple comparisons` section; empty with fewer than two counted trends. */
export function multiplicityMarkdown(tests: readonly TrendTest[]): string[] {
  const family = holm(tests);
  if (family.length < 2) return [];
  const passing = family.filter((t) => t.trend.decided);
  const kept = passing.filter((t) => t.kept);
  const dropped = passing.filter((t) => !t.kept);
  const chance = family.length * 2 * (1 - phi(2));
  const item = (t: (typeof family)[number]) =>
    `- ${t.metric}, ${t.trend.label}: ${t.trend.shape}${t.trend.shape.startsWith('interior') ? ` at m = ${t.trend.width}` : ''} (${fmtP(t.p)})`;
  return [
    '## Multiple comparisons',
    '',
    `The width trends above are ${family.length} tests that count (>= ${MIN_REPS_FOR_VERDICT} runs per width); ` +
      `${passing.length} of them reach 2 SE, where chance alone would give about ${chance.toFixed(1)}. Holm's ` +
      `step-down procedure at a family-wise error rate of ${100 * FAMILY_WISE_ALPHA} % (two-sided normal p of the ` +
      `deciding difference) keeps ${kept.length === 0 ? 'none of them' : `${kept.length}`}` +
      (dropped.length > 0 ? ` and drops ${dropped.length}, which stay leads, not findings.` : '.'),
    '',
    ...(kept.length > 0 ? ['Kept:', '', ...kept.map(item), ''] : []),
    ...(dropped.length > 0 ? ['At 2 SE but dropped:', '', ...dropped.map(item), ''] : []),
  ];
}
