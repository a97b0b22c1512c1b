/** The availability preset of issue 21 validates against the registries and keeps its stated size. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getPreset } from '../../src/experiments/presets.js';
import { defaultMetricPlots } from '../../src/report/metrics.js';
import type { RunRecord } from '../../src/results/index.js';

test('availability-mnist-quick: EM, TAP, AR and OPS across widths 10 .. 2e4, behind ISS and adversarial training', () => {
  const c = getPreset('availability-mnist-quick');
  assert.deepEqual(
    c.attacks!.map((a) => a.name),
    ['error-minimizing', 'adversarial-poisoning', 'autoregressive', 'one-pixel-shortcut'],
  );
  assert.deepEqual(
    c.defences!.map((d) => d.name),
    ['iss', 'adversarial-training'],
  );
  assert.deepEqual(c.widths, [10, 100, 1000, 20000]);
  assert.equal(c.limit, 2000);
  assert.equal(c.repetitions, 8);
});

test('a transforming defence alone (precision and recall null everywhere) gets no precision plot', () => {
  const run = { label: 'ops+iss', width: 10, repetition: 0, fold: 0, testAccuracy: 0.5 } as RunRecord;
  const runs = [{ ...run, metrics: { testAccuracy: 0.5, defencePrecision: null, defenceRecall: null } }];
  assert.deepEqual(defaultMetricPlots(runs), []);
});
