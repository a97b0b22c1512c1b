import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { setDirectConv } from '../../src/backend/kernels/state.js';
import { loadNative } from '../../src/backend/native.js';
import { CASES, checkAllCases } from './kernels_cases.js';

const hasAddon = loadNative() !== null;

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

test('native OpenBLAS kernels agree with tfjs cpu (values and gradients)', {
  skip: !hasAddon && 'addon not built',
}, () => {
  assert.equal(backendInfo()?.native, true);
  checkAllCases([1, 2, 5, 6]);
});

test('native kernels agree with tfjs cpu with the direct convolutions off (im2col path)', {
  skip: !hasAddon && 'addon not built',
}, () => {
  setDirectConv(false);
  try {
    checkAllCases([3, 4]);
  } finally {
    setDirectConv(true);
  }
});
