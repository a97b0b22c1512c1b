import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { profileWorkload } from '../../src/bench/profile.js';
import { WORKLOADS } from '../../src/bench/workloads.js';

before(async () => {
  await initBackend({ quiet: true });
});

test('profileWorkload attributes a conv step to its kernels and leaks no tensors', async () => {
  const w = {
    name: 'tiny_conv',
    batch: 2,
    setup() {
      const x = tf.randomUniform([2, 9, 9, 2], 0, 1, 'float32', 1);
      const f = tf.tidy(() => tf.variable(tf.randomUniform([3, 3, 2, 4], -1, 1, 'float32', 2)));
      const opt = tf.train.sgd(0.1);
      return {
        step: () =>
          opt.minimize(() =>
            tf.sum(tf.relu(tf.conv2d(x as tf.Tensor4D, f as tf.Variable<tf.Rank.R4>, 1, 'valid'))),
          ),
        dispose: () => {
          tf.dispose([x, f]);
          opt.dispose();
        },
      };
    },
  };
  const before = tf.memory().numTensors;
  const p = await profileWorkload(w, 2, 1);
  assert.equal(tf.memory().numTensors, before);
  const names = p.kernels.map((k) => k.kernel);
  for (const k of ['Conv2D', 'Conv2DBackpropFilter', 'Relu'])
    assert.ok(names.includes(k), `${k} in ${names}`);
  const conv = p.kernels.find((k) => k.kernel === 'Conv2D')!;
  assert.equal(conv.callsPerStep, 1);
  assert.deepEqual(conv.inputShapes, [
    [2, 9, 9, 2],
    [3, 3, 2, 4],
  ]);
  assert.ok(p.kernelsPerStep >= names.length);
});

test('the bench workloads carry the PyTorch reference names, each built and stepped once', () => {
  const names = WORKLOADS.map((w) => w.name);
  assert.ok(names.includes('mnist_cnn_train_m100') && names.includes('twolayer_mnist_train_m16384'));
  // the two-layer net is binary (it failed with 10 classes once); one step must run
  const w = WORKLOADS.find((x) => x.name === 'twolayer_mnist_train_m1000')!;
  const { step, dispose } = w.setup();
  step();
  dispose();
});
