import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createRegisteredAttack } from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadSurrogate, saveSurrogate, trainSurrogate } from '../../src/train/surrogate.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice } from '../attacks/fixtures.js';

// The project's backend: the CNN's convolution gradients are far too slow on tfjs's plain cpu backend.
await initBackend({ quiet: true });

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-surrogate-'));

test('a surrogate trained on MNIST round-trips through its checkpoint and drives an attack', async () => {
  const data = { train: mnistSlice(256), test: mnistSlice(128, 5000) };
  const { model, meta } = await trainSurrogate(data, {
    dataset: 'mnist',
    width: 20,
    epochs: 4,
    batchSize: 32,
    seed: 0,
  });
  assert.equal(meta.model, 'cnn');
  assert.equal(meta.width, 20);
  assert.deepEqual(meta.inputShape, [28, 28, 1]);
  assert.equal(meta.classNames.length, 10);
  assert.ok(meta.testAccuracy > 0.2, `test accuracy ${meta.testAccuracy}`);
  const path = join(dir, 's.npz');
  saveSurrogate(path, model, meta);
  const loaded = loadSurrogate(path, data.train);
  assert.deepEqual(loaded.meta, meta);
  const probe = tf.tensor(data.test.x.slice(0, 784 * 8), [8, 28, 28, 1]);
  const a = model.predict(probe) as tf.Tensor;
  const b = loaded.model.predict(probe) as tf.Tensor;
  assert.deepEqual(a.dataSync(), b.dataSync());
  tf.dispose([probe, a, b]);
  const { report } = await createRegisteredAttack('B', {
    budget: 1,
    epochs: 1,
    step: 1,
    batchSize: 64,
    seed: 0,
  }).poison(data.train, { surrogate: loaded.model });
  assert.ok(report.surrogateAfter!.loss > report.surrogateBefore!.loss);
  model.dispose();
  loaded.model.dispose();

  const colour: Dataset = {
    name: 'cifar-like',
    x: new Float32Array(2 * 32 * 32 * 3),
    y: new Int32Array(2),
    sampleShape: [32, 32, 3],
    classNames: [...'0123456789'],
  };
  assert.throws(
    () => loadSurrogate(path, colour),
    (e: unknown) =>
      e instanceof PoisonlabError && !e.message.includes('\n') && /shape \[28,28,1\]/.test(e.message),
  );
  const fewer: Dataset = { ...data.train, name: 'three-class', classNames: ['0', '1', '2'] };
  assert.throws(
    () => loadSurrogate(path, fewer),
    (e: unknown) => e instanceof PoisonlabError && /10 classes/.test(e.message),
  );
});
