import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { doctorReport } from '../../src/backend/doctor.js';
import { checkMemory, estimateTrainingBytes, initBackend } from '../../src/backend/index.js';
import { PoisonlabError } from '../../src/util/errors.js';

before(async () => {
  await initBackend({ quiet: true });
});

test('memory guard refuses a model that cannot fit the 4 GiB wasm heap, in one line', () => {
  // MNIST CNN at width 10^7: 320 x 10^7 dense weights alone are 12.8 GB
  const bytes = estimateTrainingBytes(320 * 1e7 + 10 * 1e7, 128 * 1e7);
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
  assert.doesNotThrow(() => checkMemory(estimateTrainingBytes(321_000, 128 * 10_000), 'mnist_cnn m=1000'));
  assert.equal(estimateTrainingBytes(10, 20), 4 * (30 + 60));
});

test('doctor reports the backend and positive matmul throughput', async () => {
  const r = await doctorReport({ reps: 1 });
  assert.equal(r.backend, 'wasm');
  assert.ok(r.kernels.includes('_FusedMatMul'));
  assert.ok(r.gflops.matmul > 0 && r.gflops.matmulTransposed > 0);
  assert.equal(typeof r.native, 'boolean');
});
