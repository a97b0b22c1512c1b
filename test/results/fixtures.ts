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

/** A clean run as the store tests write it, with its config hash, key and accuracy. */
export function record(hash: string, key: string, acc: number): RunRecord {
  return {
    configHash: hash,
    runKey: key,
    regime: 'clean',
    label: 'clean',
    budget: null,
    width: 10,
    repetition: 0,
    fold: 0,
    seed: 0,
    testAccuracy: acc,
    testLoss: 0.3,
    bestValAccuracy: 0.9,
    epochs: 5,
    bestEpoch: 3,
    seconds: 1.5,
    samplesPerSecond: 100,
    startedAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:00:01.500Z',
    host: 'test',
  };
}
