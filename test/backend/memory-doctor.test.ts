import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { doctorReport } from '../../src/backend/doctor.js';
import {
  checkMemory,
  checkTrainingMemory,
  initBackend,
  trainingStateBytes,
} from '../../src/backend/index.js';
import { PoisonlabError } from '../../src/util/errors.js';

before(async () => {
  await initBackend({ quiet: true });
});

test('memory guard refuses a model that cannot fit the 4 GiB wasm heap, in one line', () => {
  // MNIST CNN at width 10^7: 320 x 10^7 dense weights alone are 12.8 GB
  const bytes = trainingStateBytes(320 * 1e7 + 10 * 1e7);
  const before = tf.memory().numTensors;
  assert.throws(
    () => checkMemory(bytes, 'mnist_cnn m=10000000'),
    (err: unknown) =>
      err instanceof PoisonlabError &&
      !err.message.includes('\n') &&
      /^mnist_cnn m=10000000: needs \d+\.\d\d GiB of the wasm heap but only \d+\.\d\d GiB/.test(err.message),
  );
  assert.equal(tf.memory().numTensors, before, 'nothing allocated');
});

test('memory guard accepts a model that fits', () => {
  assert.doesNotThrow(() => checkMemory(trainingStateBytes(321_000), 'mnist_cnn m=1000'));
  assert.equal(trainingStateBytes(10), 4 * 5 * 10);
});

test('the one training guard counts 5 parameter copies against the free heap, and what is live counts', () => {
  // 3.7 GiB of training state: fits an empty heap's 3.75 GiB, not once 128 MiB of tensors are live.
  const params = Math.floor((3.7 * 1024 ** 3) / 20);
  assert.doesNotThrow(() => checkTrainingMemory('big', params));
  const live = tf.zeros([32 * 1024 ** 2]); // 128 MiB
  try {
    assert.throws(
      () => checkTrainingMemory('big', params),
      (e: unknown) =>
        e instanceof PoisonlabError &&
        /^big: [\d,]+ parameters need about 3\.70 GiB with training state \(5 copies\), but only 3\.\d\d GiB of the 4 GiB wasm heap is free; use a smaller width$/.test(
          e.message,
        ),
    );
  } finally {
    live.dispose();
  }
});

test('doctor reports the backend and positive matmul throughput', async () => {
  const r = await doctorReport({ reps: 1 });
  assert.equal(r.backend, 'wasm');
  assert.ok(r.kernels.includes('_FusedMatMul'));
  assert.ok(r.gflops.matmul > 0 && r.gflops.matmulTransposed > 0);
  assert.equal(typeof r.native, 'boolean');
});
