import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';

/**
 * PyTorch's default initialisation of conv and linear layers (the paper used the defaults):
 * weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where fan_in = in_channels * kh * kw for a
 * conv (tfjs kernel [kh, kw, in, out]) and in_features for a dense layer (tfjs kernel [in, out]).
 * (kaiming_uniform with a = sqrt(5) gives exactly this bound for the weights.)
 */
export function torchUniformBound(kernelShape: readonly number[]): number {
  const fanIn = kernelShape.slice(0, -1).reduce((a, b) => a * b, 1);
  return 1 / Math.sqrt(fanIn);
}

/** `count` values uniform in [-bound, bound), drawn from `rng`. */
export function uniformValues(rng: Rng, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

/**
 * Set every conv/dense layer's kernel and bias of `model` to PyTorch's defaults, seeded: each layer
 * draws from its own stream, whose seed comes from a model-level Rng(seed) in layer order, so the
 * same seed always gives the same weights. Other layers (batch norm, fixed layers) keep their own init.
 */
export function initTorchDefaults(
  model: tf.LayersModel,
  seed: number,
  skip: ReadonlySet<string> = new Set(),
): void {
  const seeds = new Rng(seed);
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (className !== 'Conv2D' && className !== 'Dense') continue;
    const layerRng = new Rng(seeds.seed());
    if (skip.has(layer.name)) continue;
    const weights = layer.getWeights();
    const bound = torchUniformBound(weights[0]!.shape);
    const fresh = weights.map((w) => tf.tensor(uniformValues(layerRng, w.size, bound), w.shape));
    layer.setWeights(fresh);
    for (const t of fresh) t.dispose();
  }
}
