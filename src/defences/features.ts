/**
 * The penultimate-layer representations the feature-based defences read: every layer of a sequential model but
 * the last, in inference mode, in batches. Wider than `maxDim`, they are reduced by a seeded Gaussian random
 * projection (Johnson-Lindenstrauss: distances and the top directions survive up to a small distortion), so a
 * width-20000 network's 6000 x 20000 activations never sit in memory at once.
 */
import * as tf from '@tensorflow/tfjs';
import { type Dataset, numSamples } from '../data/dataset.js';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export function penultimateFeatures(
  model: tf.LayersModel,
  data: Dataset,
  opts: { maxDim?: number; seed?: number; batchSize?: number } = {},
): { features: Float32Array; dim: number; width: number } {
  const layers = model.layers;
  check(layers.length >= 2, 'defence: the model has no penultimate layer');
  const shape = layers[layers.length - 2]!.outputShape as number[];
  const width = shape.slice(1).reduce((a, b) => a * (b ?? 1), 1);
  const maxDim = opts.maxDim ?? 256;
  const dim = Math.min(width, maxDim);
  const n = numSamples(data);
  const bs = opts.batchSize ?? 500;
  let proj: tf.Tensor2D | undefined;
  if (width > maxDim) {
    const rng = new Rng(opts.seed ?? 0);
    const r = new Float32Array(width * dim);
    const scale = 1 / Math.sqrt(dim);
    for (let i = 0; i < r.length; i++) r[i] = rng.normal() * scale;
    proj = tf.tensor2d(r, [width, dim]);
  }
  const out = new Float32Array(n * dim);
  const x = tf.tensor(data.x, [n, ...data.sampleShape], 'float32');
  try {
    for (let s = 0; s < n; s += bs) {
      const size = Math.min(bs, n - s);
      const f = tf.tidy(() => {
        let h: tf.Tensor = tf.slice(x, s, size);
        for (const l of layers.slice(0, -1)) h = l.apply(h, { training: false }) as tf.Tensor;
        const flat = h.reshape([size, width]) as tf.Tensor2D;
        return proj ? tf.matMul(flat, proj) : flat;
      });
      out.set(f.dataSync() as Float32Array, s * dim);
      f.dispose();
    }
  } finally {
    x.dispose();
    proj?.dispose();
  }
  return { features: out, dim, width };
}
