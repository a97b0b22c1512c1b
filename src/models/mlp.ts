/**
 * `mlp`: the width-m multilayer perceptron of the width-versus-label-noise studies on MNIST. Its whole spec is
 * this file: builder, width scaling, parameters, initialisation, feature hook and PyTorch names.
 *
 *   flatten -> [dense d->m relu] -> [dense m->m relu] x (depth - 1) -> dense m->K (logits)
 *
 * `depth` counts the hidden layers (default 1: one hidden layer of width m); every hidden layer has m units.
 * Initialisation is PyTorch's nn.Linear default: weights kaiming_uniform(a = sqrt(5)), i.e.
 * U(+-gain sqrt(3 / fan_in)) with gain sqrt(2 / (1 + 5)), which is U(+-1/sqrt(fan_in)); biases U(+-1/sqrt(fan_in)).
 *
 * PyTorch names (export with `poisonlab convert x.npz x.safetensors`, import with `--init x.safetensors`): the
 * state_dict of this module, an nn.Sequential held as `layers` whose Linear modules sit at the even indices
 * (the ReLUs, which hold no weights, at the odd ones):
 *
 * ```python
 * class MLP(nn.Module):
 *     def __init__(self, d, m, depth, k):
 *         super().__init__()
 *         dims, mods = [d] + [m] * depth, []
 *         for a, b in zip(dims[:-1], dims[1:]):
 *             mods += [nn.Linear(a, b), nn.ReLU()]
 *         self.layers = nn.Sequential(*mods, nn.Linear(m, k))
 *     def forward(self, x):
 *         return self.layers(x.flatten(1))  # NCHW images flatten as (c, h, w)
 * ```
 *
 * keys `layers.0.weight`, `layers.0.bias`, `layers.2.weight`, ..., `layers.{2 depth}.bias`; poisonlab's layer
 * `fc{i}` is `layers.{2 (i - 1)}`. The first layer's columns are in PyTorch's (c, h, w) order for image inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { check } from '../util/errors.js';
import { asDenseBias } from './fused-layers.js';
import { firstLayerShape, type InputNormalizationSpec, inputLayers } from './normalize.js';
import { defineModel, torchDefaultInit } from './spec.js';

const params = z
  .object({
    depth: z.number().int().min(1).max(64).default(1).describe('hidden layers, each of width m'),
  })
  .strict();

/** Hidden layers fc1 ... fc{depth} (width m), then the output layer fc{depth + 1}. */
const hiddenLayers = (depth: number) => Array.from({ length: depth }, (_, i) => `fc${i + 1}`);

/** The MLP of width m and `depth` hidden layers (NHWC images or vectors in, logits out). */
export function buildMlp(
  width: number,
  depth: number,
  inputShape: readonly number[],
  numClasses: number,
  normalize?: InputNormalizationSpec,
): tf.LayersModel {
  // Vectors go straight in; anything else is flattened first (tfjs's flatten needs a 2-D or larger sample).
  const first =
    inputShape.length === 1
      ? [tf.layers.inputLayer({ inputShape: [...inputShape], name: 'input' })]
      : [
          ...inputLayers(inputShape, normalize),
          tf.layers.flatten({ ...firstLayerShape(inputShape, normalize), name: 'flatten' }),
        ];
  return tf.sequential({
    layers: [
      ...first,
      ...hiddenLayers(depth).map((name) =>
        asDenseBias(tf.layers.dense({ units: width, activation: 'relu', name })),
      ),
      asDenseBias(tf.layers.dense({ units: numClasses, name: `fc${depth + 1}` })),
    ],
  });
}

/** Parameter count of buildMlp, before building. */
export function mlpParams(
  width: number,
  depth: number,
  inputShape: readonly number[],
  numClasses: number,
): number {
  const d = inputShape.reduce((a, b) => a * b, 1);
  return (d + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * numClasses;
}

const KEY = /^layers\.(\d+)\.(weight|bias)$/;

export const mlp = defineModel({
  name: 'mlp',
  aliases: [],
  description:
    'width-m ReLU MLP (the width-vs-label-noise studies): flatten, depth x dense ->m relu, dense m->K',
  params,
  width: { default: 100, layers: (p) => hiddenLayers(p.depth) },
  weights: (o) => mlpParams(o.width, o.params.depth, o.inputShape, o.numClasses),
  check(o) {
    check(
      o.normalize === undefined || o.inputShape.length === 3,
      `model mlp: input normalisation is for images [H, W, C], got input shape [${o.inputShape}]`,
    );
  },
  build: (o) => buildMlp(o.width, o.params.depth, o.inputShape, o.numClasses, o.normalize),
  // nn.Linear's default: kaiming_uniform(a = sqrt(5)) weights and U(+-1/sqrt(fan_in)) biases, per layer in order.
  init: torchDefaultInit,
  features: (p) => `fc${p.depth}`,
  torch: {
    source: 'an nn.Sequential `layers` of Linear and ReLU (src/models/mlp.ts shows the module)',
    module: (layer) => {
      const i = /^fc(\d+)$/.exec(layer);
      return i ? `layers.${2 * (Number(i[1]) - 1)}` : layer;
    },
    guess(shapes) {
      const linears: number[] = [];
      for (const [key, shape] of shapes) {
        const k = KEY.exec(key);
        if (!k) return undefined;
        if (k[2] === 'weight') {
          if (shape.length !== 2) return undefined;
          linears.push(Number(k[1]));
        }
      }
      linears.sort((a, b) => a - b);
      if (linears.length < 2 || linears.some((index, i) => index !== 2 * i)) return undefined;
      const weight = (i: number) => shapes.get(`layers.${linears[i]}.weight`)!;
      const width = weight(0)[0]!;
      for (let i = 1; i < linears.length; i++) if (weight(i)[1] !== width) return undefined;
      for (let i = 1; i < linears.length - 1; i++) if (weight(i)[0] !== width) return undefined;
      return {
        model: 'mlp',
        width,
        numClasses: weight(linears.length - 1)[0]!,
        inputShape: [weight(0)[1]!],
        params: { depth: linears.length - 1 },
      };
    },
  },
});
