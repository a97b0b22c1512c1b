/** A finished run's record for the tests of derived metrics: only what they read is given, the rest is filler. */
import type { RunRecord } from '../../src/results/index.js';

export function runRecord(
  label: string,
  width: number,
  testAccuracy: number,
  more: { repetition?: number; runKey?: string; metrics?: Record<string, number | null> } = {},
): RunRecord {
  const repetition = more.repetition ?? 0;
  return {
    configHash: 'h',
    runKey: more.runKey ?? `${label}/w${width}/r${repetition}/f0`,
    regime: label,
    label,
    budget: null,
    width,
    repetition,
    fold: 0,
    seed: repetition,
    startedAt: '',
    finishedAt: '',
    host: '',
    testAccuracy,
    testLoss: 0,
    bestValAccuracy: null,
    epochs: 1,
    bestEpoch: 1,
    seconds: 1,
    samplesPerSecond: 1,
    metrics: { testAccuracy, ...more.metrics },
  };
}
