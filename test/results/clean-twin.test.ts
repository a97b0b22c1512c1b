/** Poisoned runs against the clean run of the same width, repetition and fold: accuracy cost and margin gain. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  POISON_COST_METRIC,
  type RunRecord,
  TARGET_GAIN_METRIC,
  withCleanTwinMetrics,
} from '../../src/results/index.js';
import { runRecord } from './fixtures.js';

function run(
  label: string,
  width: number,
  repetition: number,
  testAccuracy: number,
  metrics: Record<string, number | null> = {},
): RunRecord {
  return runRecord(label, width, testAccuracy, { repetition, metrics });
}

test('poisonCost = accuracy(clean twin) - accuracy(run); targetMarginGain = margin - the twin margin on its targets', () => {
  const runs = [
    run('clean', 10, 0, 0.9, { 'targetMargin.gm': -6, 'targetMargin.bp': -4 }),
    run('clean', 10, 1, 0.8, { 'targetMargin.gm': -9 }),
    run('gm', 10, 0, 0.85, { targetMargin: -2.5 }),
    run('gm', 10, 1, 0.8, { targetMargin: -8 }),
    run('bp', 10, 0, 0.9, { targetMargin: -5 }),
    // a defended arm is paired with the clean run's score of its attack's targets
    run('gm+iss', 10, 0, 0.7, { targetMargin: -5 }),
    // no twin at this width: left as it is
    run('gm', 100, 0, 0.9, { targetMargin: 1 }),
    // the twin lacks this attack's reference margin: only the cost
    run('bp', 10, 1, 0.75, { targetMargin: 0 }),
    // an availability poison: the cost only
    run('em', 10, 1, 0.6),
  ];
  const out = withCleanTwinMetrics(runs);
  const cost = out.map((r) => r.metrics?.[POISON_COST_METRIC]);
  const gain = out.map((r) => r.metrics?.[TARGET_GAIN_METRIC]);
  const near = (a: (number | null | undefined)[], b: (number | undefined)[]) =>
    a.every((v, i) => (b[i] === undefined ? v === undefined : Math.abs((v as number) - b[i]!) < 1e-12));
  assert.ok(near(cost, [undefined, undefined, 0.05, 0, 0, 0.2, undefined, 0.05, 0.2]), String(cost));
  assert.deepEqual(gain, [undefined, undefined, 3.5, 1, -1, 1, undefined, undefined, undefined]);
  // the inputs are not changed
  assert.equal(runs[2]!.metrics?.[TARGET_GAIN_METRIC], undefined);
});
