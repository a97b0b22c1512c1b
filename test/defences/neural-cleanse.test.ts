/**
 * Neural Cleanse (post-training trigger reverse-engineering): the MAD anomaly index, and on a small badnets backdoor
 * the inspection's metrics are well-formed and deterministic. Whether it finds a given backdoor is measured, not
 * asserted (docs/attacks.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAttack } from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import { anomalyIndices, createDefence, getDefenceEntry } from '../../src/defences/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice, trainTinySurrogate } from '../attacks/fixtures.js';

test('the anomaly index: (median - v) / (1.4826 MAD)', () => {
  // median 10, absolute deviations 0,0,1,1,8 -> MAD 1
  const idx = anomalyIndices([10, 10, 11, 9, 2]);
  assert.ok(Math.abs(idx[4]! - 8 / 1.4826) < 1e-9);
  assert.equal(idx[0], 0);
  assert.deepEqual(anomalyIndices([3, 3, 3]), [0, 0, 0], 'no spread, no anomaly');
});

test('neural-cleanse is registered with validated parameters', () => {
  assert.equal(getDefenceEntry('nc').name, 'neural-cleanse');
  assert.throws(() => createDefence('nc', { steps: 0 }), PoisonlabError);
  assert.throws(() => createDefence('nc', { lambda: -1 }), /lambda/);
});

test('neural-cleanse on a badnets backdoor: training set untouched, metrics well-formed and deterministic', async () => {
  await initBackend({ quiet: true });
  const train = mnistSlice(300);
  const clean = mnistSlice(60, 1000);
  const attack = createAttack('badnets', { target: 0, rate: 0.1, seed: 1 });
  const poisoned = await attack.poison(train);
  const model = await trainTinySurrogate(poisoned.dataset, 3);
  try {
    const d = createDefence('nc', { steps: 5, images: 40, batchSize: 16 });
    const out = await d.apply({ data: poisoned.dataset });
    assert.equal(out.dataset, poisoned.dataset);
    const m = out.inspectTrained!(model, clean, attack.trigger);
    assert.ok(Number.isFinite(m['ncAnomalyIndex']!));
    assert.ok(
      m['ncMinMaskL1']! > 0 && m['ncMinMaskL1']! <= m['ncMedianMaskL1']! && m['ncMedianMaskL1']! <= 784,
    );
    assert.ok(m['ncReversedSuccess']! >= 0 && m['ncReversedSuccess']! <= 1);
    assert.ok(m['ncTargetFound'] === 0 || m['ncTargetFound'] === 1);
    assert.equal(m['ncFlaggedClass'] === null, m['ncAnomalyIndex']! <= 2);
    assert.deepEqual(out.inspectTrained!(model, clean, attack.trigger), m, 'same seed, same metrics');
  } finally {
    model.dispose();
  }
});
