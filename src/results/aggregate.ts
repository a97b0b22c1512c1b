import type { RunRecord } from './records.js';

/** Mean, standard deviation and count of clean test accuracy of one (regime, width) cell. */
export interface CellStats {
  /** Regime label, e.g. 'clean', 'A-C500'. */
  label: string;
  /** 'clean' | 'A' | 'B' | 'C'. */
  regime: string;
  width: number;
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 for one run. */
  std: number;
  min: number;
  max: number;
}

/** A run's value of a named metric: `testAccuracy` (a column), or one of its stored named metrics. */
export function metricOf(r: RunRecord, metric: string): number | undefined {
  if (metric === 'testAccuracy') return r.testAccuracy;
  const v = r.metrics?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Every metric name some run holds (testAccuracy first). */
export function metricNames(runs: readonly RunRecord[]): string[] {
  const names = new Set<string>(['testAccuracy']);
  for (const r of runs) for (const k of Object.keys(r.metrics ?? {})) names.add(k);
  return [...names];
}

/**
 * Group runs by (regime label, width) and summarise a metric (default: clean test accuracy); sorted by label
 * then width. Runs without the metric are left out (a cell with none is absent).
 */
export function aggregate(runs: readonly RunRecord[], metric = 'testAccuracy'): CellStats[] {
  const groups = new Map<string, { label: string; regime: string; width: number; acc: number[] }>();
  for (const r of runs) {
    const k = `${r.label}\u0000${r.width}`;
    let g = groups.get(k);
    if (!g) {
      g = { label: r.label, regime: r.regime, width: r.width, acc: [] };
      groups.set(k, g);
    }
    const v = metricOf(r, metric);
    if (v !== undefined) g.acc.push(v);
  }
  const cells = [...groups.values()]
    .filter((g) => g.acc.length > 0)
    .map((g) => {
      const n = g.acc.length;
      const mean = g.acc.reduce((a, b) => a + b, 0) / n;
      const variance = n > 1 ? g.acc.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
      return {
        label: g.label,
        regime: g.regime,
        width: g.width,
        n,
        mean,
        std: Math.sqrt(variance),
        min: Math.min(...g.acc),
        max: Math.max(...g.acc),
      };
    });
  return cells.sort((a, b) => compareLabels(a.label, b.label) || a.width - b.width);
}

/** 'clean' first, then the regimes in label order. */
export function compareLabels(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'clean') return -1;
  if (b === 'clean') return 1;
  return a < b ? -1 : 1;
}

/** The width with the highest mean accuracy, per regime label. */
export function bestWidths(
  cells: readonly CellStats[],
): { label: string; width: number; mean: number; std: number }[] {
  const best = new Map<string, CellStats>();
  for (const c of cells) {
    const b = best.get(c.label);
    if (!b || c.mean > b.mean) best.set(c.label, c);
  }
  return [...best.values()]
    .sort((a, b) => compareLabels(a.label, b.label))
    .map((c) => ({ label: c.label, width: c.width, mean: c.mean, std: c.std }));
}
