import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { setDirectConv } from '../../src/backend/kernels/state.js';
import { conv2dBias } from '../../src/backend/layer-ops.js';
import { CASES, checkAllCases } from './kernels-cases.js';
import { hasAddon, nativeTest } from './needs-native.js';

before(async () => {
  await initBackend({ prefer: 'auto', quiet: true });
  if (hasAddon) setNativeEnabled(true);
});

test('the project kernels are registered on wasm', () => {
  assert.equal(tf.getBackend(), 'wasm');
  const info = backendInfo();
  assert.ok(info?.kernels.includes('Conv2DBackpropFilter'));
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'Conv2DBackpropFilter registered');
  assert.ok(CASES.length > 30);
});

nativeTest('native kernels agree with tfjs cpu (values and gradients)', () => {
  assert.equal(backendInfo()?.native, true);
  checkAllCases([1, 2, 5, 6]);
});

nativeTest('native kernels agree with tfjs cpu with the direct convolutions off (im2col path)', () => {
  setDirectConv(false);
  try {
    checkAllCases([3, 4]);
  } finally {
    setDirectConv(true);
  }
});

nativeTest('conv2dBias: the tape skips dx when only the filter and bias need gradients', async () => {
  const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 5]) as tf.Tensor4D;
  const b = tf.randomNormal([5]) as tf.Tensor1D;
  const kernelsOf = async (f: () => tf.Tensor[]) => (await tf.profile(() => f())).kernels.map((k) => k.name);
  const loss = (u: tf.Tensor, v: tf.Tensor, c: tf.Tensor) =>
    tf.sum(conv2dBias(u as tf.Tensor4D, v as tf.Tensor4D, c as tf.Tensor1D, [1, 1], 'same'));
  const paramsOnly = await kernelsOf(() => tf.grads((v, c) => loss(x, v, c))([w, b]));
  assert.ok(paramsOnly.includes('PoisonlabConv2DBias'));
  assert.ok(paramsOnly.includes('Conv2DBackpropFilter'));
  assert.ok(!paramsOnly.includes('Conv2DBackpropInput'), `dx computed: ${paramsOnly.join(', ')}`);
  const withInput = await kernelsOf(() => tf.grads((u) => loss(u, w, b))([x]));
  assert.ok(withInput.includes('Conv2DBackpropInput'));
  assert.ok(!withInput.includes('Conv2DBackpropFilter'), `dW computed: ${withInput.join(', ')}`);
  tf.dispose([x, w, b]);
});
