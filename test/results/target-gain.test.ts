/** A targeted run's margin gain over the clean run of the same width, repetition and fold. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RunRecord, TARGET_GAIN_METRIC, withTargetMarginGain } from '../../src/results/index.js';

function run(
  label: string,
  width: number,
  repetition: number,
  metrics: Record<string, number | null>,
): RunRecord {
  return {
    configHash: 'h',
    runKey: `${label}/w${width}/r${repetition}/f0`,
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
    testAccuracy: 0.9,
    testLoss: 0,
    bestValAccuracy: null,
    epochs: 1,
    bestEpoch: 1,
    seconds: 1,
    samplesPerSecond: 1,
    metrics,
  };
}

test('targetMarginGain = margin(poisoned) - margin(clean twin on the same targets)', () => {
  const runs = [
    run('clean', 10, 0, { 'targetMargin.gm': -6, 'targetMargin.bp': -4 }),
    run('clean', 10, 1, { 'targetMargin.gm': -9 }),
    run('gm', 10, 0, { targetMargin: -2.5 }),
    run('gm', 10, 1, { targetMargin: -8 }),
    run('bp', 10, 0, { targetMargin: -5 }),
    // a defended arm is paired with the clean run's score of its attack's targets
    run('gm+iss', 10, 0, { targetMargin: -5 }),
    // no twin at this width: left as it is
    run('gm', 100, 0, { targetMargin: 1 }),
    // the twin lacks this attack's reference: left as it is
    run('bp', 10, 1, { targetMargin: 0 }),
  ];
  const gains = withTargetMarginGain(runs).map((r) => r.metrics?.[TARGET_GAIN_METRIC]);
  assert.deepEqual(gains, [undefined, undefined, 3.5, 1, -1, 1, undefined, undefined]);
  // the inputs are not changed
  assert.equal(runs[2]!.metrics?.[TARGET_GAIN_METRIC], undefined);
});
