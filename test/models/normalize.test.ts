/**
 * Per-channel input normalisation (src/models/normalize.ts): the first layer of a model built with `normalize`,
 * in the forward of training and inference; the attack's raw view bypasses it; checkpoints and exported
 * PyTorch weights keep it; values and gradients match tfjs's cpu backend.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { negatedLossGradient } from '../../src/attacks/objective.js';
import { initBackend } from '../../src/backend/index.js';
import { datasetNormalization } from '../../src/data/defaults.js';
import {
  createModel,
  InputNormalization,
  modelInfo,
  normalizationLayer,
  withRawInput,
} from '../../src/models/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { loadTorchModel, saveTorchSafetensors } from '../../src/train/torch-checkpoint.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { compareWithCpu, randn, relError } from '../backend/compare.js';

const CIFAR = datasetNormalization('cifar10');
const SHAPE = [32, 32, 3];
let dir: string;

before(async () => {
  await initBackend({ quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'poisonlab-normalize-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Uniform [0, 1] images from a seeded stream. */
function images(n: number, seed = 1): tf.Tensor4D {
  const rng = new Rng(seed);
  const v = new Float32Array(n * 32 * 32 * 3);
  for (let i = 0; i < v.length; i++) v[i] = rng.uniform();
  return tf.tensor4d(v, [n, 32, 32, 3]);
}

/** (x - mean) / std per channel, written out by hand (float64, then float32). */
function byHand(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - CIFAR.mean[i % 3]!) / CIFAR.std[i % 3]!;
  return out;
}

const logits = (m: tf.LayersModel, x: tf.Tensor, training = false) =>
  tf.tidy(() => (m.apply(x, { training }) as tf.Tensor).dataSync() as Float32Array);

describe('input normalisation in the model forward', () => {
  it("is CIFAR-10's mean and std of the original (cifar_ntk.py lines 85-95); MNIST has none", () => {
    assert.deepEqual(CIFAR, { mean: [0.4914, 0.4822, 0.4465], std: [0.2471, 0.2435, 0.2616] });
    assert.throws(() => datasetNormalization('mnist'), PoisonlabError);
  });

  it('the layer computes (x - mean_c) / std_c over the channel axis', () => {
    const x = images(2);
    const layer = new InputNormalization(CIFAR);
    const got = tf.tidy(() => (layer.apply(x) as tf.Tensor).dataSync() as Float32Array);
    assert.ok(relError(got, byHand(x.dataSync() as Float32Array)) < 1e-6);
    x.dispose();
  });

  for (const name of ['cifar-cnn', 'alexnet']) {
    it(`${name}: same seed, same weights; the normalised model is the raw one on normalised input, in training and inference`, () => {
      const opts = { width: 20, inputShape: SHAPE, numClasses: 10, seed: 3 };
      const raw = createModel(name, opts);
      const norm = createModel(name, { ...opts, normalize: CIFAR });
      assert.ok(norm.layers[0] instanceof InputNormalization);
      assert.deepEqual(modelInfo(norm)!.options.normalize, CIFAR);
      assert.equal(norm.weights.length, raw.weights.length);
      const x = images(4);
      const xn = tf.tensor4d(byHand(x.dataSync() as Float32Array), [4, 32, 32, 3]);
      assert.ok(relError(logits(norm, x), logits(raw, xn)) < 1e-5, 'inference');
      if (name === 'cifar-cnn')
        assert.ok(relError(logits(norm, x, true), logits(raw, xn, true)) < 1e-5, 'training');
      // The raw view (the attack's): the normalisation is bypassed, and back on afterwards.
      assert.ok(
        relError(
          withRawInput(norm, () => logits(norm, x)),
          logits(raw, x),
        ) < 1e-6,
      );
      assert.equal(normalizationLayer(norm)!.raw, false);
      for (const t of [x, xn]) t.dispose();
      raw.dispose();
      norm.dispose();
    });
  }

  it('the attack gradient sees raw x + delta by default and normalised input when asked', () => {
    const opts = { width: 16, inputShape: SHAPE, numClasses: 10, seed: 5 };
    const raw = createModel('cifar-cnn', opts);
    const norm = createModel('cifar-cnn', { ...opts, normalize: CIFAR });
    const x = images(3);
    const d = tf.zerosLike(x);
    const y = tf.tensor1d([0, 4, 9], 'int32');
    const g = (m: tf.LayersModel, view?: { input: 'raw' | 'normalized' }) =>
      tf.tidy(() => negatedLossGradient(m, x, d, y, 'mean', view).dataSync() as Float32Array);
    assert.ok(relError(g(norm), g(raw)) < 1e-6, 'raw view = the unnormalised model');
    // Through the normalisation: d/dx f((x - mu) / s) = f'(.) / s, the raw model's gradient at the normalised point / s.
    const xn = tf.tensor4d(byHand(x.dataSync() as Float32Array), [3, 32, 32, 3]);
    const atNorm = tf.tidy(() => negatedLossGradient(raw, xn, d, y).dataSync() as Float32Array);
    const scaled = atNorm.map((v, i) => v / CIFAR.std[i % 3]!);
    assert.ok(relError(g(norm, { input: 'normalized' }), scaled) < 1e-4);
    assert.ok(relError(g(norm, { input: 'normalized' }), g(raw)) > 1e-3, 'the two views differ');
    for (const t of [x, d, y, xn]) t.dispose();
    raw.dispose();
    norm.dispose();
  });

  it('values and gradients of the normalisation layer match the cpu backend', () => {
    const rng = new Rng(11);
    const layer = new InputNormalization(CIFAR);
    const { err, shapes } = compareWithCpu([randn(rng, [5, 6, 7, 3]), randn(rng, [5, 6, 7, 3])], (x, w) => {
      const f = (a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a) as tf.Tensor, w!));
      return [layer.apply(x!) as tf.Tensor, tf.grad(f)(x!)];
    });
    assert.deepEqual(shapes, [
      [5, 6, 7, 3],
      [5, 6, 7, 3],
    ]);
    assert.ok(err < 1e-6, `relative error ${err}`);
  });

  it('a normalised cifar-cnn forward and input gradient match the cpu backend', () => {
    const model = createModel('cifar-cnn', {
      width: 12,
      inputShape: SHAPE,
      numClasses: 10,
      seed: 2,
      normalize: CIFAR,
    });
    const rng = new Rng(4);
    const { err } = compareWithCpu([randn(rng, [3, 32, 32, 3])], (x) => {
      const f = (a: tf.Tensor) => tf.sum(tf.square(model.apply(a, { training: true }) as tf.Tensor));
      return [model.apply(x!) as tf.Tensor, tf.grad(f)(x!)];
    });
    assert.ok(err < 1e-4, `relative error ${err}`);
    model.dispose();
  });

  it('a checkpoint keeps the normalisation; an exported safetensors says it, and importing it restores it', () => {
    const model = createModel('cifar-cnn', {
      width: 8,
      inputShape: SHAPE,
      numClasses: 10,
      seed: 1,
      normalize: CIFAR,
    });
    const x = images(2, 9);
    const want = logits(model, x);
    const npz = join(dir, 'n.npz');
    saveCheckpoint(npz, model);
    const back = loadCheckpoint(npz).model;
    assert.deepEqual(modelInfo(back)!.options.normalize, CIFAR);
    assert.ok(relError(logits(back, x), want) < 1e-6);
    const st = join(dir, 'n.safetensors');
    saveTorchSafetensors(st, model);
    const imported = loadTorchModel(st);
    assert.deepEqual(modelInfo(imported.model)!.options.normalize, CIFAR);
    assert.ok(relError(logits(imported.model, x), want) < 1e-6);
    // A state_dict without the metadata (a .pth of the original) is read as taking raw pixels unless told.
    const plain = loadTorchModel(st, { normalize: null });
    assert.equal(normalizationLayer(plain.model), undefined);
    for (const m of [model, back, imported.model, plain.model]) m.dispose();
    x.dispose();
  });

  it('twolayer and a wrong channel count are one-line errors', () => {
    assert.throws(
      () => createModel('twolayer', { width: 4, inputShape: [2], numClasses: 2, seed: 0, normalize: CIFAR }),
      /input normalisation is for image models/,
    );
    assert.throws(
      () =>
        createModel('mnist-cnn', {
          width: 4,
          inputShape: [28, 28, 1],
          numClasses: 10,
          seed: 0,
          normalize: CIFAR,
        }),
      /one mean and one std per channel \(1\)/,
    );
  });
});
