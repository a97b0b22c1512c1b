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

test('gather refuses an index outside the gathered axis, as the cpu backend does', async () => {
  const tf = await import('@tensorflow/tfjs');
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  assert.throws(
    () => tf.gather(x, tf.tensor1d([0, 2], 'int32')),
    /GatherV2: the index value 2 is not in \[0, 1\]/,
  );
  assert.throws(
    () => tf.gather(x, tf.tensor1d([-1], 'int32')),
    /GatherV2: the index value -1 is not in \[0, 1\]/,
  );
  x.dispose();
});

test('gather and its gradient stay right when their output grows the wasm heap', async () => {
  const tf = await import('@tensorflow/tfjs');
  const be = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
  const rows = 64;
  const cols = 1024;
  const x = tf.tensor2d(
    Float32Array.from({ length: rows * cols }, (_, i) => i % 9973),
    [rows, cols],
  );
  // more rows than the whole heap holds now, so the output's allocation must grow it
  const k = Math.ceil(be.wasm.HEAPU8.length / (4 * cols)) + 4096;
  const idx = Int32Array.from({ length: k }, (_, i) => (i * 7) % rows);
  const heapBefore = be.wasm.HEAPU8.length;
  const g = tf.gather(x, tf.tensor1d(idx, 'int32'));
  assert.ok(be.wasm.HEAPU8.length > heapBefore, 'the heap grew');
  const got = g.dataSync();
  for (const i of [0, 1, k >> 1, k - 1])
    for (const c of [0, cols - 1]) assert.equal(got[i * cols + c], (idx[i]! * cols + c) % 9973);
  g.dispose();
  const s = tf.unsortedSegmentSum(tf.ones([k, 4]), tf.tensor1d(idx, 'int32'), rows);
  assert.equal(s.dataSync()[0], idx.filter((v) => v === 0).length);
  tf.dispose([s, x]);
});
