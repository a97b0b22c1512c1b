/** Invariants of the backdoor attacks: which samples change, labels, trigger placement, poison rate, determinism. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  createAttack,
  describeParams,
  evaluateSurrogate,
  getAttackEntry,
  listAttacks,
  noisePattern,
  parseSettings,
  patchOrigin,
} from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice, trainTinySurrogate } from './fixtures.js';

const D = 784;
const data = mnistSlice(600);

/** Pixels (row, col) of the default patch: 3x3, 1 pixel from the bottom-right corner of 28x28 images. */
function inPatch(j: number, size = 3, margin = 1): boolean {
  const r = Math.floor(j / 28);
  const c = j % 28;
  const [top, left] = patchOrigin(28, 28, {
    patchSize: size,
    margin,
    corner: 'bottom-right',
    value: 1,
  });
  return r >= top && r < top + size && c >= left && c < left + size;
}

function changed(a: Dataset, b: Dataset, i: number): boolean {
  for (let j = i * D; j < (i + 1) * D; j++) if (a.x[j] !== b.x[j]) return true;
  return a.y[i] !== b.y[i];
}

test('the registry lists every attack with its parameters, names and aliases resolve', () => {
  const names = listAttacks().map((e) => e.name);
  for (const n of [
    'l21-perturbation',
    'per-sample-perturbation',
    'label-flip',
    'shift',
    'badnets',
    'blended',
    'label-consistent',
  ])
    assert.ok(names.includes(n), n);
  assert.equal(getAttackEntry('A').name, 'l21-perturbation');
  assert.equal(getAttackEntry('b').name, 'per-sample-perturbation');
  assert.equal(getAttackEntry('C').name, 'label-flip');
  assert.equal(getAttackEntry('clean-label').name, 'label-consistent');
  const rate = describeParams(getAttackEntry('badnets').params).find((p) => p.name === 'rate')!;
  assert.equal(rate.default, 0.1);
  assert.match(rate.type, /number in \(0, 1\]/);
  assert.throws(() => getAttackEntry('nope'), /unknown attack 'nope', expected one of l21-perturbation/);
  assert.throws(
    () => createAttack('badnets', { rate: 2 }),
    (e: Error) => e instanceof PoisonlabError && /attack badnets: rate:/.test(e.message),
  );
  assert.throws(() => createAttack('badnets', { colour: 'red' }), /attack badnets: .*colour/);
  assert.deepEqual(parseSettings(['rate=0.05', 'corner=top-left', 'target=7']), {
    rate: 0.05,
    corner: 'top-left',
    target: 7,
  });
  assert.throws(() => parseSettings(['rate']), /--set: expected key=value, got 'rate'/);
});

test('badnets: rate * n samples not of the target get the patch and the target label; nothing else changes', async () => {
  const a = createAttack('badnets', { target: 7, rate: 0.1, seed: 3 });
  const r = await a.poison(data);
  const picked = [...r.poisonMask.keys()].filter((i) => r.poisonMask[i]);
  assert.equal(picked.length, 60);
  for (let i = 0; i < 600; i++) {
    if (r.poisonMask[i]) {
      assert.notEqual(data.y[i], 7, 'only samples not of the target are relabelled');
      assert.equal(r.dataset.y[i], 7);
      for (let j = 0; j < D; j++) {
        const v = r.dataset.x[i * D + j]!;
        if (inPatch(j)) assert.equal(v, 1);
        else assert.equal(v, data.x[i * D + j]);
      }
    } else assert.equal(changed(data, r.dataset, i), false, `sample ${i} changed`);
  }
  assert.equal(r.report.labelsFlipped, 60);
  assert.equal(r.report.attack, 'badnets');
  // Determinism: the same seed, the same poison; another seed, other samples.
  const again = await createAttack('badnets', { target: 7, rate: 0.1, seed: 3 }).poison(data);
  assert.deepEqual(again.dataset.x, r.dataset.x);
  assert.deepEqual(again.dataset.y, r.dataset.y);
  const other = await createAttack('badnets', { target: 7, rate: 0.1, seed: 4 }).poison(data);
  assert.notDeepEqual(other.poisonMask, r.poisonMask);
  // The test-time trigger stamps the same patch on every image, labels unchanged.
  const stamped = a.trigger!.apply(data);
  assert.equal(a.trigger!.target, 7);
  assert.deepEqual(stamped.y, data.y);
  for (let j = 0; j < D; j++) if (inPatch(j)) assert.equal(stamped.x[5 * D + j], 1);
  const corner = await createAttack('badnets', {
    rate: 0.01,
    corner: 'top-left',
    margin: 0,
    patchSize: 2,
  }).poison(data);
  const i = corner.poisonMask.indexOf(1);
  assert.deepEqual(
    [0, 1, 28, 29].map((j) => corner.dataset.x[i * D + j]),
    [1, 1, 1, 1],
  );
  await assert.rejects(
    createAttack('badnets', { target: 10 }).poison(data),
    /target class 10 is outside the 10 classes/,
  );
  const vectors: Dataset = { ...data, sampleShape: [784] };
  await assert.rejects(createAttack('badnets').poison(vectors), /expected images \[H, W, C\]/);
});

test('blended: poisoned samples become (1 - alpha) x + alpha t with the target label; others untouched', async () => {
  const a = createAttack('blended', { target: 0, rate: 0.05, alpha: 0.2, seed: 1 });
  const r = await a.poison(data);
  const t = noisePattern(D, 1234);
  let count = 0;
  for (let i = 0; i < 600; i++) {
    if (!r.poisonMask[i]) {
      assert.equal(changed(data, r.dataset, i), false);
      continue;
    }
    count++;
    assert.notEqual(data.y[i], 0);
    assert.equal(r.dataset.y[i], 0);
    for (const j of [0, 100, 400, 783])
      assert.ok(Math.abs(r.dataset.x[i * D + j]! - (0.8 * data.x[i * D + j]! + 0.2 * t[j]!)) < 1e-6);
  }
  assert.equal(count, 30);
  const again = await createAttack('blended', { target: 0, rate: 0.05, alpha: 0.2, seed: 1 }).poison(data);
  assert.deepEqual(again.dataset.x, r.dataset.x);
  // The trigger blends the same pattern into test images.
  const stamped = a.trigger!.apply(data);
  assert.ok(Math.abs(stamped.x[3 * D + 50]! - (0.8 * data.x[3 * D + 50]! + 0.2 * t[50]!)) < 1e-6);
});

test('label-consistent: target-class samples perturbed within the budget against the surrogate, then patched; labels never change', async () => {
  await initBackend({ quiet: true });
  const surrogate = await trainTinySurrogate(data, 4);
  const params = { target: 3, rate: 0.05, budget: 1.5, epochs: 3, step: 0.5, seed: 2 };
  try {
    const r = await createAttack('label-consistent', params).poison(data, { surrogate });
    assert.deepEqual(r.dataset.y, data.y, 'labels never change');
    const picked = [...r.poisonMask.keys()].filter((i) => r.poisonMask[i]);
    assert.equal(picked.length, 30);
    for (let i = 0; i < 600; i++) {
      if (!r.poisonMask[i]) {
        assert.equal(changed(data, r.dataset, i), false);
        continue;
      }
      assert.equal(data.y[i], 3, 'only target-class samples are poisoned');
      let off = 0;
      for (let j = 0; j < D; j++) {
        const v = r.dataset.x[i * D + j]!;
        assert.ok(v >= 0 && v <= 1);
        if (inPatch(j)) assert.equal(v, 1);
        else off += (v - data.x[i * D + j]!) ** 2;
      }
      assert.ok(Math.sqrt(off) <= 1.5 + 1e-4, `perturbation ${Math.sqrt(off)} within the budget`);
    }
    // The perturbation makes the samples hard for the surrogate (patch pixels excluded: compare before stamping).
    const sub = (ds: Dataset) => {
      const x = new Float32Array(picked.length * D);
      picked.forEach((i, k) => {
        x.set(ds.x.subarray(i * D, (i + 1) * D), k * D);
      });
      return tf.tensor(x, [picked.length, 28, 28, 1]);
    };
    const y = tf.fill([picked.length], 3, 'int32') as tf.Tensor1D;
    const xc = sub(data);
    const xp = sub(r.dataset);
    const before = evaluateSurrogate(surrogate, xc, y);
    const after = evaluateSurrogate(surrogate, xp, y);
    tf.dispose([xc, xp, y]);
    assert.ok(after.loss > before.loss, `surrogate loss ${before.loss} -> ${after.loss}`);
    const again = await createAttack('label-consistent', params).poison(data, { surrogate });
    assert.deepEqual(again.dataset.x, r.dataset.x, 'deterministic by seed');
    await assert.rejects(
      createAttack('label-consistent', { ...params, rate: 0.5 }).poison(data, { surrogate }),
      /class 3 has only/,
    );
    await assert.rejects(
      createAttack('label-consistent', params).poison(data),
      /a surrogate model is required/,
    );
  } finally {
    surrogate.dispose();
  }
});

test('the paper regimes through the registry: label-flip by name and alias, with the poison mask', async () => {
  const r = await createAttack('C', { beta: 0.3, seed: 0 }).poison(data);
  const legacy = await createAttack('label-flip', { beta: 0.3, seed: 0 }).poison(data);
  assert.deepEqual(r.dataset.y, legacy.dataset.y);
  let flipped = 0;
  for (let i = 0; i < 600; i++) {
    assert.equal(r.poisonMask[i], r.dataset.y[i] !== data.y[i] ? 1 : 0);
    flipped += r.poisonMask[i]!;
  }
  assert.equal(flipped, legacy.report.labelsFlipped);
  assert.equal(r.report.attack, 'label-flip');
});
