import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import type { TrainOptions } from './types.js';

/**
 * Online SGD (batch size 1) of the two-layer net f(x) = (1/sqrt(m)) sum_s a_s relu(w_s . x) on the
 * logistic loss, in plain JS on Float32Arrays: the same update as the generic tfjs path, without its
 * per-op overhead. For a sample (x, y) with sign s = +-1 and margin z = s f(x):
 *   dL/dw_s = -s sigmoid(-z) (1/sqrt(m)) a_s 1[w_s . x > 0] x,
 * then g <- g + weightDecay * w, v <- momentum * v + g, w <- w - lr * v (PyTorch's SGD).
 * W lives here during an epoch and is written back to the model at the end of each epoch.
 */
export function trainTwoLayerOnline(
  model: tf.LayersModel,
  train: Dataset,
  opts: TrainOptions,
): {
  epoch(
    order: Int32Array,
    onBatch?: (done: number, total: number) => void,
  ): { loss: number; accuracy: number };
  /** The momentum buffer ([d, m], undefined without momentum), for training checkpoints. */
  velocity: Float32Array | undefined;
} {
  const hidden = model.getLayer('hidden');
  const kernel = hidden.getWeights()[0]!;
  const [d, m] = kernel.shape as [number, number];
  const w = kernel.dataSync().slice() as Float32Array; // [d, m]: w[j * m + s] = (w_s)_j
  const a = model.getLayer('output').getWeights()[0]!.dataSync() as Float32Array;
  const scale = 1 / Math.sqrt(m);
  const { lr } = opts;
  const momentum = opts.momentum ?? 0;
  const weightDecay = opts.weightDecay ?? 0;
  const velocity = momentum > 0 ? new Float32Array(d * m) : undefined;
  const h = new Float32Array(m);
  return {
    velocity,
    epoch(order, onBatch) {
      let lossSum = 0;
      let correct = 0;
      const n = order.length;
      for (let t = 0; t < n; t++) {
        const i = order[t]!;
        const x = train.x.subarray(i * d, (i + 1) * d);
        const sign = train.y[i] === 1 ? 1 : -1;
        h.fill(0);
        for (let j = 0; j < d; j++) {
          const xj = x[j]!;
          if (xj === 0) continue;
          const row = j * m;
          for (let s = 0; s < m; s++) h[s] = h[s]! + xj * w[row + s]!;
        }
        let f = 0;
        for (let s = 0; s < m; s++) if (h[s]! > 0) f += a[s]! * h[s]!;
        f *= scale;
        const margin = sign * f;
        lossSum += margin > 0 ? Math.log1p(Math.exp(-margin)) : -margin + Math.log1p(Math.exp(margin));
        if (margin > 0) correct++;
        const dLdf = -sign / (1 + Math.exp(margin)); // -s sigmoid(-z)
        for (let j = 0; j < d; j++) {
          const xj = x[j]!;
          const row = j * m;
          for (let s = 0; s < m; s++) {
            let g = h[s]! > 0 ? dLdf * scale * a[s]! * xj : 0;
            if (weightDecay > 0) g += weightDecay * w[row + s]!;
            if (velocity) {
              const v = momentum * velocity[row + s]! + g;
              velocity[row + s] = v;
              w[row + s] = w[row + s]! - lr * v;
            } else if (g !== 0) {
              w[row + s] = w[row + s]! - lr * g;
            }
          }
        }
        onBatch?.(t + 1, n);
      }
      tf.tidy(() => hidden.setWeights([tf.tensor2d(w, [d, m])]));
      return { loss: lossSum / n, accuracy: correct / n };
    },
  };
}
