/**
 * STRIP (test-time backdoor detection): it changes nothing before training; after training it flags inputs whose
 * blends with clean images keep a low prediction entropy. On a small badnets backdoor: rates are fractions, the
 * threshold sits at the frr quantile of the calibration entropies, the inspection is deterministic for a seed.
 * Whether STRIP detects a given backdoor is measured, not asserted (docs/attacks.md).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAttack } from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import { createDefence, getDefenceEntry, listDefences, stripEntropies } from '../../src/defences/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { mnistSlice, trainTinySurrogate } from '../attacks/fixtures.js';

test('strip is registered as a test-time defence with the paper-unit parameters', () => {
  assert.ok(listDefences().some((e) => e.name === 'strip'));
  const e = getDefenceEntry('strip');
  assert.equal(e.needs.features, false);
  assert.throws(() => createDefence('strip', { frr: 0 }), PoisonlabError);
  assert.throws(() => createDefence('strip', { overlays: 0 }), /overlays/);
});

test('strip on a badnets backdoor: training set untouched, rates in [0, 1], deterministic', async () => {
  await initBackend({ quiet: true });
  const train = mnistSlice(400);
  const clean = mnistSlice(100, 1000);
  const attack = createAttack('badnets', { target: 0, rate: 0.1, seed: 1 });
  const poisoned = await attack.poison(train);
  const model = await trainTinySurrogate(poisoned.dataset, 4);
  try {
    const d = createDefence('strip', { overlays: 4, calibration: 40, frr: 0.1 });
    const out = await d.apply({ data: poisoned.dataset, poisonMask: poisoned.poisonMask });
    assert.equal(out.dataset, poisoned.dataset, 'nothing removed or changed before training');
    assert.deepEqual(out.report.removed, []);
    const m = out.inspectTrained!(model, clean, attack.trigger);
    for (const k of ['stripDetectionRate', 'stripFalsePositiveRate'])
      assert.ok(m[k]! >= 0 && m[k]! <= 1, `${k} = ${m[k]}`);
    assert.deepEqual(out.inspectTrained!(model, clean, attack.trigger), m, 'same seed, same metrics');
    const noTrigger = out.inspectTrained!(model, clean);
    assert.equal(noTrigger['stripDetectionRate'], undefined, 'no trigger, no detection rate');
    // entropies are mean bits over 10 classes: in [0, log2 10]
    const e = stripEntropies(model, clean, train, 3, new Rng(0));
    assert.ok(e.every((v) => v >= -1e-6 && v <= Math.log2(10) + 1e-6));
    // the held-out images must leave some to score: one line otherwise
    const tooMany = await createDefence('strip', { calibration: 100 }).apply({ data: train });
    assert.throws(() => tooMany.inspectTrained!(model, clean), /expected more than calibration 100/);
  } finally {
    model.dispose();
  }
});
