import * as tf from '@tensorflow/tfjs';
import { heapFree, heapMalloc, offsetOf, type WasmBackend } from './heap.js';
import { heapOps } from './kernels/state.js';

/**
 * One fused SGD step of the theory's two-layer net on the logistic loss (mean over the batch), with
 * the hidden kernel `w` [d, m] updated in place: two matrix products and one pass (the heap ops'
 * twoLayerStep; see native/src/two_layer.c). Needs the wasm backend, float32 x [batch, ...d] and w,
 * the fixed head `a` [m], int32 labels in {0, 1}, and w's data shared with no other tensor; returns
 * null (having done nothing) otherwise, and the caller takes the generic path. Returns the batch's
 * summed loss and number of correct signs, before the update.
 */
export function twoLayerStepOnHeap(
  x: tf.Tensor,
  labels: tf.Tensor,
  w: tf.Variable,
  a: tf.Tensor,
  lr: number,
  scale: number,
): { lossSum: number; correct: number } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as WasmBackend;
  const [d, m] = w.shape as [number, number];
  const batch = x.shape[0] ?? 0;
  const fits =
    x.dtype === 'float32' &&
    w.dtype === 'float32' &&
    a.dtype === 'float32' &&
    labels.dtype === 'int32' &&
    w.rank === 2 &&
    x.size === batch * d &&
    a.size === m &&
    labels.size === batch &&
    batch > 0 &&
    be.refCount(w.dataId) === 1;
  if (!fits) return null;
  const h = heapMalloc(be, batch * m * 4);
  try {
    const [lossSum, correct] = heapOps().twoLayerStep(
      be,
      offsetOf(be, x),
      offsetOf(be, labels),
      offsetOf(be, w),
      offsetOf(be, a),
      h,
      { batch, d, m },
      lr,
      scale,
    );
    return { lossSum, correct };
  } finally {
    heapFree(be, h);
  }
}
