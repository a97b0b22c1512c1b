import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { asDenseBias } from './fused-layers.js';
import { defineModel, initialisedInBuild, noParams } from './spec.js';

/**
 * The theory's two-layer ReLU network of width m with one output logit:
 *
 *   f(x; a, W) = (1 / sqrt(m)) * sum_{s=1..m} a_s * relu(w_s . x),
 *
 * input flattened to d values, no biases. Layers: `hidden` (kernel W^T, d x m, trained, initialised as
 * the paper's reference code: randn(m, d) / sqrt(d)), `output` (kernel a, m x 1, a_s uniform in {-1, +1},
 * NOT trainable) and a fixed 1/sqrt(m) rescaling.
 */
export function buildTwoLayer(width: number, inputShape: readonly number[], seed: number): tf.LayersModel {
  check(inputShape.length >= 1, `model twolayer: expected a non-empty input shape, got [${inputShape}]`);
  const d = inputShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  // W ~ N(0, 1/d) and a ~ U{-1, +1}, both from the model seed (W first, then a).
  const w = new Float32Array(d * width);
  const scale = 1 / Math.sqrt(d);
  // Draw W row by row as randn(m, d) (row s = w_s), store transposed as the tfjs kernel [d, m].
  for (let s = 0; s < width; s++) for (let j = 0; j < d; j++) w[j * width + s] = rng.normal() * scale;
  const a = new Float32Array(width);
  for (let s = 0; s < width; s++) a[s] = rng.uniform() < 0.5 ? -1 : 1;
  const hiddenInit = tf.tensor2d(w, [d, width]);
  const outputInit = tf.tensor2d(a, [width, 1]);
  // Vectors go straight in; anything else is flattened first (tfjs's flatten needs a 2-D or larger sample).
  const first =
    inputShape.length === 1
      ? [tf.layers.inputLayer({ inputShape: [...inputShape], name: 'input' })]
      : [tf.layers.flatten({ inputShape: [...inputShape], name: 'flatten' })];
  const model = tf.sequential({
    layers: [
      ...first,
      // relu(x W) as one kernel (see asDenseBias)
      asDenseBias(
        tf.layers.dense({
          units: width,
          useBias: false,
          activation: 'relu',
          kernelInitializer: 'zeros',
          name: 'hidden',
        }),
      ),
      tf.layers.dense({
        units: 1,
        useBias: false,
        kernelInitializer: 'zeros',
        trainable: false,
        name: 'output',
      }),
      tf.layers.rescaling({ scale: 1 / Math.sqrt(width), name: 'scale' }),
    ],
  });
  model.getLayer('hidden').setWeights([hiddenInit]);
  model.getLayer('output').setWeights([outputInit]);
  hiddenInit.dispose();
  outputInit.dispose();
  plainHead(model.getLayer('output'), model.getLayer('scale'));
  return model;
}

/**
 * Runs the fixed head, relu(W x) -> a . h -> h / sqrt(m), as one plain matMul and one multiply.
 * tfjs-layers would run the frozen `output` layer as a fused matMul, whose gradient also computes
 * the unused gradient of `a` (a [m, batch] x [batch, 1] product, plus wrappers), and the rescaling
 * as x * scale + offset with its zero offset; as tf.matMul the tape prunes a's gradient. The
 * layers' classes, configs, weights and values are unchanged; only how their forward is recorded.
 */
function plainHead(output: tf.layers.Layer, scale: tf.layers.Layer): void {
  const dense = output as unknown as { kernel: tf.LayerVariable; call: tf.layers.Layer['call'] };
  const rescale = scale as unknown as { scale: number; offset: number; call: tf.layers.Layer['call'] };
  const one = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0]! : inputs);
  const denseCall = dense.call.bind(output);
  dense.call = (inputs, kwargs) => {
    const x = one(inputs);
    return x.rank === 2 && x.dtype === 'float32'
      ? tf.matMul(x as tf.Tensor2D, dense.kernel.read() as tf.Tensor2D)
      : denseCall(inputs, kwargs);
  };
  const scaleCall = rescale.call.bind(scale);
  rescale.call = (inputs, kwargs) => {
    const x = one(inputs);
    return rescale.offset === 0 && x.dtype === 'float32'
      ? tf.mul(x, rescale.scale)
      : scaleCall(inputs, kwargs);
  };
}

/** Parameter count of buildTwoLayer (W plus the fixed a). */
export function twoLayerParams(width: number, inputShape: readonly number[]): number {
  return inputShape.reduce((a, b) => a * b, 1) * width + width;
}

/**
 * The spec: m is `hidden`'s units; draws its own W and a in build; PyTorch names (the theory's net, not in the
 * original code): fc1 (`W`, [m, d], no bias) and fc2 (the fixed signs `a`, [1, m], no bias), the PyTorch
 * module computing fc2(relu(fc1(x))) / sqrt(m); the penultimate features are relu(W x); fast step 'two-layer'.
 */
export const twoLayer = defineModel({
  name: 'twolayer',
  aliases: [],
  description: "theory's net f(x) = (1/sqrt(m)) sum_s a_s relu(w_s.x), a_s fixed in {-1,+1}, one logit",
  params: noParams,
  width: { default: 1000, layers: () => ['hidden'] },
  weights: (o) => twoLayerParams(o.width, o.inputShape),
  classes: 2,
  check(o) {
    check(
      o.normalize === undefined,
      "model twolayer: input normalisation is for image models (the theory's net takes raw vectors)",
    );
  },
  build: (o) => buildTwoLayer(o.width, o.inputShape, o.seed),
  init: initialisedInBuild,
  features: () => 'hidden',
  torch: {
    source:
      "the theory's two-layer net (not in the original code): fc1 = W, fc2 = a, f = fc2(relu(fc1(x))) / sqrt(m)",
    module: (layer) => (layer === 'hidden' ? 'fc1' : layer === 'output' ? 'fc2' : layer),
    guess(shapes) {
      const w = shapes.get('fc1.weight');
      const a = shapes.get('fc2.weight');
      if (shapes.size !== 2 || w?.length !== 2 || a?.length !== 2 || a[0] !== 1) return undefined;
      return { model: 'twolayer', width: w[0]!, numClasses: 2, inputShape: [w[1]!] };
    },
  },
  fastStep: 'two-layer',
});
