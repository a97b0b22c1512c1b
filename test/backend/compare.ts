import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../src/util/rng.js';

/** Random normal data of `shape` from a seeded Rng (identical on every backend). */
export function randn(rng: Rng, shape: number[]): { values: Float32Array; shape: number[] } {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return { values, shape };
}

/** Largest |a - b| / max(1, max |b|) over two equally long arrays. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    err = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(err, d);
  }
  return err / scale;
}

/**
 * Runs `fn` (tensors built from `data`, returning outputs and gradients) on the current wasm
 * backend and on tfjs's cpu backend; returns the worst relative error and the output shapes.
 */
export function compareWithCpu(
  data: { values: Float32Array; shape: number[] }[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor[],
): { err: number; shapes: number[][] } {
  const run = () =>
    tf.tidy(() => {
      const xs = data.map((d) => tf.tensor(d.values, d.shape));
      return fn(...xs).map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
    });
  const before = tf.getBackend();
  const got = run();
  tf.setBackend('cpu');
  let want: ReturnType<typeof run>;
  try {
    want = run();
  } finally {
    tf.setBackend(before);
  }
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    const shapeOk = got[i].shape.join() === want[i].shape.join();
    err = Math.max(err, shapeOk ? relError(got[i].values, want[i].values) : Number.POSITIVE_INFINITY);
  }
  return { err, shapes: got.map((g) => g.shape) };
}
