/**
 * The native kernels give the same bits whatever the thread count. A sweep with several workers runs each with one
 * thread, a Slurm task or `poisonlab train` with all the cores: the same seed must give the same numbers in both.
 * (The filter gradient once split the batch across threads and summed their partial sums, so a run's numbers
 * depended on how many workers its sweep had.)
 */
import assert from 'node:assert/strict';
import { before } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { setDirectConv } from '../../src/backend/kernels/state.js';
import { loadNative } from '../../src/backend/native.js';
import { twoLayerStepOnHeap } from '../../src/backend/two-layer-step.js';
import { hasAddon, nativeTest } from './needs-native.js';

before(async () => {
  await initBackend({ prefer: 'auto', quiet: true });
  if (hasAddon) setNativeEnabled(true);
});

/** `fn`'s result with the addon set to `threads` threads for every product and convolution. */
function withThreads<T>(threads: number, fn: () => T): T {
  const addon = loadNative()!;
  const before = addon.getThreads();
  addon.setThreads(threads, 0);
  try {
    return fn();
  } finally {
    addon.setThreads(before, 1e7);
  }
}

const bits = (a: Float32Array | Int32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length);
  if (bits(a).equals(bits(b))) return;
  const i = a.findIndex((v, j) => !Object.is(v, b[j]));
  assert.fail(`${what}: element ${i} is ${a[i]} with one thread and ${b[i]} with four`);
}

nativeTest(
  'conv2d filter and input gradients have the same bits with 1 and 4 threads (direct and im2col)',
  () => {
    // 16 x 16 x 16 outputs x 5 x 5 x 8 x 32: 26 M multiply-adds, far past the size the addon starts threading at
    const x = tf.randomNormal([16, 20, 20, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([5, 5, 8, 32], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const r = tf.randomNormal([16, 16, 16, 32], 0, 1, 'float32', 3);
    const grads = () =>
      tf.tidy(() => {
        const [dx, dw] = tf.grads((u: tf.Tensor, v: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, 1, 'valid'), r)),
        )([x, w]);
        return [dx!.dataSync() as Float32Array, dw!.dataSync() as Float32Array];
      });
    for (const direct of [true, false]) {
      setDirectConv(direct);
      try {
        const [dx1, dw1] = withThreads(1, grads);
        const [dx4, dw4] = withThreads(4, grads);
        assertSameBits(dw1!, dw4!, `dW (${direct ? 'direct' : 'im2col'})`);
        assertSameBits(dx1!, dx4!, `dx (${direct ? 'direct' : 'im2col'})`);
      } finally {
        setDirectConv(true);
      }
    }
    tf.dispose([x, w, r]);
  },
);

nativeTest("the two-layer net's fused step: the same weights, loss and accuracy with 1 and 4 threads", () => {
  const [batch, d, m] = [256, 100, 1000]; // batch x m past the size its per-sample loop is threaded from
  const x = tf.randomNormal([batch, d], 0, 1, 'float32', 4);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => (i * 7) % 2),
    'int32',
  );
  const a = tf.randomNormal([m], 0, 1, 'float32', 5);
  const w0 = tf.randomNormal([d, m], 0, 0.1, 'float32', 6);
  const step = () => {
    const w = tf.tidy(() => tf.variable(tf.tensor(w0.dataSync(), [d, m]))); // data of its own, as the step needs
    const out = twoLayerStepOnHeap(x, y, w, a, 0.5, 1 / Math.sqrt(m));
    assert.ok(out, 'the fused step ran');
    const weights = w.dataSync() as Float32Array;
    w.dispose();
    return { ...out, weights };
  };
  const one = withThreads(1, step);
  const four = withThreads(4, step);
  assertSameBits(one.weights, four.weights, 'W after the step');
  assert.ok(Object.is(one.lossSum, four.lossSum), `loss ${one.lossSum} vs ${four.lossSum}`);
  assert.equal(one.correct, four.correct);
  tf.dispose([x, y, a, w0]);
});
