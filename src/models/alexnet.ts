import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { asConvBias, asDenseBias } from './fused-layers.js';
import { firstLayerShape, type InputNormalizationSpec, inputLayers } from './normalize.js';
import { SeededDropout } from './seeded-dropout.js';
import { checkImageShape, outSize } from './shapes.js';
import { defineModel, noParams, torchDefaultInit } from './spec.js';

/**
 * The CIFAR-10 AlexNet variant of the original (its CIFAR surrogate), NHWC, outputs logits:
 * conv(3->64, 3x3, stride 2, pad 1) relu maxpool2, conv(64->192, 3x3, pad 1) relu maxpool2,
 * conv(192->384, 3x3, pad 1) relu, conv(384->256, 3x3, pad 1) relu, conv(256->256, 3x3, pad 1) relu
 * maxpool2 (256x2x2 for 32x32), dropout 0.5, dense 1024->4096 relu, dropout 0.5, dense 4096->4096 relu,
 * dense 4096->10. The stride-2 conv pads explicitly (1 on every side, as PyTorch) rather than with
 * tfjs's asymmetric 'same' padding. With `normalize`, per-channel input normalisation first (normalize.ts).
 */
export function buildAlexNet(
  inputShape: readonly number[],
  numClasses: number,
  seed: number,
  normalize?: InputNormalizationSpec,
): tf.LayersModel {
  checkImageShape('alexnet', inputShape, 3, 16);
  const dropoutSeeds = new Rng(seed ^ 0x5eed);
  const conv = (filters: number, name: string) =>
    asConvBias(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', name }));
  return tf.sequential({
    layers: [
      ...inputLayers(inputShape, normalize),
      tf.layers.zeroPadding2d({ ...firstLayerShape(inputShape, normalize), padding: 1, name: 'pad1' }),
      asConvBias(
        tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv1' }),
      ),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      conv(192, 'conv2'),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }),
      conv(384, 'conv3'),
      conv(256, 'conv4'),
      conv(256, 'conv5'),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool3' }),
      tf.layers.flatten({ name: 'flatten' }),
      new SeededDropout({ rate: 0.5, seed: dropoutSeeds.seed(), name: 'drop1' }),
      asDenseBias(tf.layers.dense({ units: 4096, activation: 'relu', name: 'fc1' })),
      new SeededDropout({ rate: 0.5, seed: dropoutSeeds.seed(), name: 'drop2' }),
      asDenseBias(tf.layers.dense({ units: 4096, activation: 'relu', name: 'fc2' })),
      asDenseBias(tf.layers.dense({ units: numClasses, name: 'fc3' })),
    ],
  });
}

/** Parameter count of buildAlexNet, computed before building. */
export function alexNetParams(inputShape: readonly number[], numClasses: number): number {
  const side = (s: number) => Math.floor(Math.floor(Math.floor(outSize(s, 3, 2, 1) / 2) / 2) / 2);
  const flat = side(inputShape[0]!) * side(inputShape[1]!) * 256;
  const conv = (cin: number, cout: number) => cin * 9 * cout + cout;
  return (
    conv(3, 64) +
    conv(64, 192) +
    conv(192, 384) +
    conv(384, 256) +
    conv(256, 256) +
    (flat + 1) * 4096 +
    4097 * 4096 +
    4097 * numClasses
  );
}

const ALEXNET_MODULES: Record<string, string> = {
  conv1: 'features.0',
  conv2: 'features.3',
  conv3: 'features.6',
  conv4: 'features.8',
  conv5: 'features.10',
  fc1: 'classifier.1',
  fc2: 'classifier.4',
  fc3: 'classifier.6',
};

/**
 * The spec: fixed size; PyTorch names are the original's (alexnet.py: features.0/3/6/8/10 for the convolutions,
 * classifier.1/4/6 for the linears); the penultimate features are fc2's (after its relu).
 */
export const alexNet = defineModel({
  name: 'alexnet',
  aliases: [],
  description: 'CIFAR-10 AlexNet variant (the CIFAR surrogate), dropout 0.5, fixed size',
  params: noParams,
  inputShape: [32, 32, 3],
  weights: (o) => alexNetParams(o.inputShape, o.numClasses),
  build: (o) => buildAlexNet(o.inputShape, o.numClasses, o.seed, o.normalize),
  init: torchDefaultInit,
  features: () => 'fc2',
  torch: {
    source: 'alexnet.py `AlexNet` of the original study',
    module: (layer) => ALEXNET_MODULES[layer] ?? layer,
    guess(shapes) {
      if (!shapes.has('features.0.weight') || !shapes.has('classifier.6.weight')) return undefined;
      return { model: 'alexnet', numClasses: shapes.get('classifier.6.weight')![0]! };
    },
  },
});
