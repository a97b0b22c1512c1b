import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { backendInfo, initBackend } from '../../src/backend/index.js';
import { checkAllCases } from './kernels-cases.js';

before(async () => {
  await initBackend({ prefer: 'wasm', quiet: true });
});

test('pure-wasm kernels (no addon) agree with tfjs cpu (values and gradients)', () => {
  assert.equal(backendInfo()?.native, false);
  checkAllCases([3, 4]);
});
