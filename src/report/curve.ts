import { compareLabels, type RunRecord } from '../results/index.js';
import type { CurvePoint } from './plot.js';

/** A stored per-run number that can be drawn against width. */
export interface WidthMetric {
  /** The y axis' title. */
  title: string;
  /** d3 format of its values. */
  format: string;
  value: (r: RunRecord) => number | null;
}

/** The metrics of the runs table that a width curve can show, by name. */
export const WIDTH_METRICS: Readonly<Record<string, WidthMetric>> = {
  testAccuracy: { title: 'clean test accuracy', format: '.2%', value: (r) => r.testAccuracy },
  testLoss: { title: 'clean test loss', format: '.4f', value: (r) => r.testLoss },
  bestValAccuracy: {
    title: 'best validation accuracy',
    format: '.2%',
    value: (r) => r.bestValAccuracy,
  },
  bestEpoch: { title: 'best epoch', format: '.1f', value: (r) => r.bestEpoch },
  epochs: { title: 'epochs run', format: '.1f', value: (r) => r.epochs },
  seconds: { title: 'seconds per run', format: '.1f', value: (r) => r.seconds },
  samplesPerSecond: { title: 'training samples per second', format: '.0f', value: (r) => r.samplesPerSecond },
};

/** The band around a curve's mean: one standard deviation, or the 95 % confidence interval of the mean. */
export type Band = 'std' | 'ci95';

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Student's t 97.5 % quantile with `df` degrees of freedom (df > 30: 1.96 + 2.4/df, within 0.01). */
export function tQuantile975(df: number): number {
  if (df < 1) return Number.NaN;
  return df <= 30 ? T975[df - 1]! : 1.96 + 2.4 / df;
}

/**
 * Mean and band of `metric` per (series, width): `series` names each run's line (its regime label by default).
 * A cell of one run has a zero-width band; runs without the metric are left out.
 */
export function curvePoints(
  runs: readonly RunRecord[],
  metric: WidthMetric,
  band: Band,
  series: (r: RunRecord) => string = (r) => r.label,
): CurvePoint[] {
  const groups = new Map<string, { series: string; width: number; v: number[] }>();
  for (const r of runs) {
    const v = metric.value(r);
    if (v === null || !Number.isFinite(v)) continue;
    const s = series(r);
    const k = `${s}\u0000${r.width}`;
    let g = groups.get(k);
    if (!g) {
      g = { series: s, width: r.width, v: [] };
      groups.set(k, g);
    }
    g.v.push(v);
  }
  const points = [...groups.values()].map((g) => {
    const n = g.v.length;
    const mean = g.v.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(g.v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    const half = n < 2 ? 0 : band === 'std' ? std : (tQuantile975(n - 1) * std) / Math.sqrt(n);
    return { series: g.series, width: g.width, mean, lo: mean - half, hi: mean + half, n };
  });
  return points.sort((a, b) => compareLabels(a.series, b.series) || a.width - b.width);
}
