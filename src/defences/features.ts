/**
 * The penultimate-layer representations the feature-based defences read: the output of the layer the model's
 * spec names as its feature hook (`features`, models/spec.ts; for a model createModel did not build, the input of
 * its last layer), computed through the model's graph (ResNet-18's Adds included), in inference mode, in batches. Wider than `maxDim`, they are reduced by a seeded Gaussian random
 * projection (Johnson-Lindenstrauss: distances and the top directions survive up to a small distortion), so a
 * width-20000 network's 6000 x 20000 activations never sit in memory at once.
 */
import * as tf from '@tensorflow/tfjs';
import { type Dataset, numSamples } from '../data/dataset.js';
import { featureOutput } from '../models/registry.js';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export function penultimateFeatures(
  model: tf.LayersModel,
  data: Dataset,
  opts: { maxDim?: number; seed?: number; batchSize?: number } = {},
): { features: Float32Array; dim: number; width: number } {
  const hook = featureOutput(model);
  // The same layers, with the feature layer's output as the graph's output (weights shared; never disposed here).
  const probe = tf.model({ inputs: model.inputs, outputs: hook });
  const width = hook.shape.slice(1).reduce((a: number, b) => a * (b ?? 1), 1);
  check(width >= 1, 'defence: the penultimate representation has no fixed size');
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
        const h = probe.apply(tf.slice(x, s, size), { training: false }) as tf.Tensor;
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
