import * as tf from '@tensorflow/tfjs';
import { type Dataset, numSamples } from '../data/dataset.js';
import { checkNumber } from '../util/errors.js';
import { checkCompatible, defaultLoss, perSampleLoss } from './losses.js';
import type { LossKind } from './types.js';

/** A dataset uploaded to the backend once: x as [N, ...sampleShape] float32, y as [N] int32. */
export interface DeviceData {
  x: tf.Tensor;
  y: tf.Tensor1D;
  n: number;
  name: string;
}

/** Upload a dataset to the backend (one copy); dispose the tensors when done. */
export function upload(ds: Dataset): DeviceData {
  const n = numSamples(ds);
  return {
    x: tf.tensor(ds.x, [n, ...ds.sampleShape], 'float32'),
    y: tf.tensor1d(ds.y, 'int32'),
    n,
    name: ds.name,
  };
}

/** Mean loss and accuracy of the model (inference mode) on uploaded data, in contiguous batches. */
export function evaluateDevice(
  model: tf.LayersModel,
  data: DeviceData,
  kind: LossKind,
  batchSize: number,
): { loss: number; accuracy: number } {
  if (data.n === 0) return { loss: Number.NaN, accuracy: Number.NaN };
  let lossSum = 0;
  let correctSum = 0;
  for (let start = 0; start < data.n; start += batchSize) {
    const size = Math.min(batchSize, data.n - start);
    const sums = tf.tidy(() => {
      const xb = tf.slice(data.x, start, size);
      const yb = tf.slice(data.y, start, size);
      const logits = model.apply(xb, { training: false }) as tf.Tensor;
      const { loss, correct } = perSampleLoss(logits, yb, kind);
      return tf.stack([tf.sum(loss), tf.sum(correct)]);
    });
    const [l, c] = sums.dataSync();
    sums.dispose();
    lossSum += l!;
    correctSum += c!;
  }
  return { loss: lossSum / data.n, accuracy: correctSum / data.n };
}

/**
 * Mean loss and accuracy of `model` on a dataset (inference mode: no dropout, batch-norm running statistics).
 * The loss defaults to logistic for one-logit models and cross-entropy otherwise.
 */
export function evaluate(
  model: tf.LayersModel,
  ds: Dataset,
  opts: { loss?: LossKind; batchSize?: number } = {},
): { loss: number; accuracy: number } {
  const kind = opts.loss ?? defaultLoss(model);
  const batchSize = checkNumber(opts.batchSize ?? 500, 'evaluation batch size', { integer: true, min: 1 });
  checkCompatible(model, ds, kind);
  const data = upload(ds);
  try {
    return evaluateDevice(model, data, kind, batchSize);
  } finally {
    data.x.dispose();
    data.y.dispose();
  }
}

/** The model's logits on every sample of `ds` (inference mode), row-major [N, outputs]. */
export function predictLogits(model: tf.LayersModel, ds: Dataset, batchSize = 500): Float32Array {
  checkNumber(batchSize, 'prediction batch size', { integer: true, min: 1 });
  const n = numSamples(ds);
  const parts: Float32Array[] = [];
  const x = tf.tensor(ds.x, [n, ...ds.sampleShape], 'float32');
  try {
    for (let start = 0; start < n; start += batchSize) {
      const out = tf.tidy(
        () =>
          model.apply(tf.slice(x, start, Math.min(batchSize, n - start)), { training: false }) as tf.Tensor,
      );
      parts.push(out.dataSync() as Float32Array);
      out.dispose();
    }
  } finally {
    x.dispose();
  }
  const total = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    total.set(p, offset);
    offset += p.length;
  }
  return total;
}
