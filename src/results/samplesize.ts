/**
 * The original's sample-size experiment (the sample-size runs of the original's `mnist_ntk.py`): regime A's excess
 * test loss and excess test error, poisoned minus clean for the same seed, against the training-set size n,
 * one curve per overall budget C (S = C sqrt(n)). The runs come from a sweep with `sizes` (see
 * ../experiments/plan.ts).
 */
import type { RunRecord } from './records.js';

/** One poisoned run next to its clean twin (same size, width, repetition, fold, hence the same seed). */
export interface ExcessRecord {
  /** Regime label, e.g. 'A-C100'. */
  label: string;
  /** C of regime A (the store's budget column); 0 for clean data. */
  budget: number;
  size: number;
  width: number;
  repetition: number;
  fold: number;
  /** Test loss poisoned minus clean. */
  excessLoss: number;
  /** Test error poisoned minus clean, i.e. clean accuracy minus poisoned accuracy. */
  excessError: number;
}

/** Mean and spread of the excess over repetitions, per (regime, size). */
export interface ExcessStats {
  label: string;
  budget: number;
  size: number;
  n: number;
  lossMean: number;
  lossStd: number;
  errorMean: number;
  errorStd: number;
}

/**
 * The training-set size n of a run of a sample-size sweep, read from its key (`A-C500/n1000/w200/r1/f0`: the
 * plan writes `/n<size>` right after the label, and labels hold no '/'); undefined for width-sweep keys.
 */
export function runSize(runKey: string): number | undefined {
  const m = /^n(\d+)$/.exec(runKey.split('/')[1] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The size n of every run of a sample-size sweep, by run key (runs of width sweeps are left out). */
export function runSizes(runs: readonly RunRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of runs) {
    const size = runSize(r.runKey);
    if (size !== undefined) out.set(r.runKey, size);
  }
  return out;
}

/**
 * Pair every run with the clean run of the same (size, width, repetition, fold) and subtract:
 * excess loss = L_poisoned - L_clean, excess error = (1 - acc_poisoned) - (1 - acc_clean). Clean runs pair with
 * themselves (excess 0: the curve C = 0). Runs without a clean twin or a known size are left out.
 */
export function excessRecords(
  runs: readonly RunRecord[],
  sizeOf: ReadonlyMap<string, number>,
): ExcessRecord[] {
  const twinKey = (size: number, r: RunRecord) => `${size}|${r.width}|${r.repetition}|${r.fold}`;
  const clean = new Map<string, RunRecord>();
  for (const r of runs) {
    const size = sizeOf.get(r.runKey);
    if (r.regime === 'clean' && size !== undefined) clean.set(twinKey(size, r), r);
  }
  const out: ExcessRecord[] = [];
  for (const r of runs) {
    const size = sizeOf.get(r.runKey);
    if (size === undefined) continue;
    const c = clean.get(twinKey(size, r));
    if (!c) continue;
    out.push({
      label: r.label,
      budget: r.regime === 'clean' ? 0 : (r.budget ?? 0),
      size,
      width: r.width,
      repetition: r.repetition,
      fold: r.fold,
      excessLoss: r.testLoss - c.testLoss,
      excessError: c.testAccuracy - r.testAccuracy,
    });
  }
  return out;
}

const meanStd = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.length > 1 ? v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
};

/** Mean and sample std of the excess per (regime, size), sorted by budget then size. */
export function aggregateExcess(records: readonly ExcessRecord[]): ExcessStats[] {
  const groups = new Map<string, ExcessRecord[]>();
  for (const r of records) {
    const k = `${r.label}|${r.size}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()]
    .map((g) => {
      const loss = meanStd(g.map((r) => r.excessLoss));
      const error = meanStd(g.map((r) => r.excessError));
      return {
        label: g[0]!.label,
        budget: g[0]!.budget,
        size: g[0]!.size,
        n: g.length,
        lossMean: loss.mean,
        lossStd: loss.std,
        errorMean: error.mean,
        errorStd: error.std,
      };
    })
    .sort((a, b) => a.budget - b.budget || a.size - b.size);
}
