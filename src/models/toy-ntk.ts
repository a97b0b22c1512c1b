import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { torchUniformBound, uniformValues } from './init.js';
import { defineModel, initialisedInBuild, noParams } from './spec.js';

/**
 * The original toy's network (`model_ntk` in toy_gaussian_ntk.py, deleted from the authors' repository;
 * commit c8d5d7e, lines 24-35 and 103-105): a two-layer ReLU net with K logits and no biases,
 *
 *   f_k(x) = sum_{s=1..m} a_{k,s} relu(w_s . x),   k = 1..K,
 *
 * with NO 1/sqrt(m) factor (unlike `twolayer`). Layers: `hidden` (kernel W^T, d x m, trained, PyTorch's
 * nn.Linear default init U(-1/sqrt(d), 1/sqrt(d))) and `output` (kernel A^T, m x K, every entry an independent
 * sign(N(0, 1)), i.e. -1 or +1 with probability 1/2, NOT trainable).
 */
export function buildToyNtk(
  width: number,
  inputShape: readonly number[],
  numClasses: number,
  seed: number,
): tf.LayersModel {
  check(
    inputShape.length === 1,
    `model toy-ntk: expected vector inputs (an input shape [d]), got [${inputShape}]`,
  );
  check(numClasses >= 2, `model toy-ntk: expected at least 2 classes (one logit each), got ${numClasses}`);
  const d = inputShape[0]!;
  const rng = new Rng(seed);
  // The hidden kernel first, then the signs, both from the model seed.
  const hiddenInit = tf.tensor2d(uniformValues(rng, d * width, torchUniformBound([d, width])), [d, width]);
  const signs = new Float32Array(width * numClasses);
  for (let i = 0; i < signs.length; i++) signs[i] = rng.uniform() < 0.5 ? -1 : 1;
  const outputInit = tf.tensor2d(signs, [width, numClasses]);
  const model = tf.sequential({
    layers: [
      tf.layers.inputLayer({ inputShape: [d], name: 'input' }),
      tf.layers.dense({
        units: width,
        useBias: false,
        activation: 'relu',
        kernelInitializer: 'zeros',
        name: 'hidden',
      }),
      tf.layers.dense({
        units: numClasses,
        useBias: false,
        kernelInitializer: 'zeros',
        trainable: false,
        name: 'output',
      }),
    ],
  });
  model.getLayer('hidden').setWeights([hiddenInit]);
  model.getLayer('output').setWeights([outputInit]);
  hiddenInit.dispose();
  outputInit.dispose();
  return model;
}

/** Parameter count of buildToyNtk (W plus the fixed signs). */
export function toyNtkParams(width: number, inputShape: readonly number[], numClasses: number): number {
  return inputShape.reduce((a, b) => a * b, 1) * width + width * numClasses;
}

/**
 * The spec: m is `hidden`'s units; draws its own W and signs in build; no PyTorch export (the original module is
 * gone); the penultimate features are relu(W x); fast step 'toy-ntk'.
 */
export const toyNtk = defineModel({
  name: 'toy-ntk',
  aliases: [],
  description:
    "the original toy's net: f_k(x) = sum_s a_ks relu(w_s.x), a_ks fixed in {-1,+1}, no 1/sqrt(m), K logits",
  params: noParams,
  width: { default: 200, layers: () => ['hidden'] },
  weights: (o) => toyNtkParams(o.width, o.inputShape, o.numClasses),
  build: (o) => buildToyNtk(o.width, o.inputShape, o.numClasses, o.seed),
  init: initialisedInBuild,
  features: () => 'hidden',
  fastStep: 'toy-ntk',
});
