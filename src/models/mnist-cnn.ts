import * as tf from '@tensorflow/tfjs';
import { asConvBias, asDenseBias } from './fused-layers.js';
import { firstLayerShape, type InputNormalizationSpec, inputLayers } from './normalize.js';
import { checkImageShape, lenetSide } from './shapes.js';
import { defineModel, noParams, torchDefaultInit } from './spec.js';

/**
 * The paper's MNIST network of width m (NHWC, outputs logits):
 * conv(1->10, 5x5) maxpool2 relu, conv(10->20, 5x5) maxpool2 relu, flatten (320 for 28x28),
 * dense 320->m relu, dense m->10; with `normalize`, per-channel input normalisation first (normalize.ts).
 */
export function buildMnistCnn(
  width: number,
  inputShape: readonly number[],
  numClasses: number,
  normalize?: InputNormalizationSpec,
): tf.LayersModel {
  checkImageShape('mnist-cnn', inputShape, 1, 16);
  return tf.sequential({
    layers: [
      ...inputLayers(inputShape, normalize),
      // conv + bias as one kernel; the input's gradient is skipped in training (see asConvBias)
      asConvBias(
        tf.layers.conv2d({
          ...firstLayerShape(inputShape, normalize),
          filters: 10,
          kernelSize: 5,
          name: 'conv1',
        }),
      ),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tf.layers.reLU({ name: 'relu1' }),
      asConvBias(tf.layers.conv2d({ filters: 20, kernelSize: 5, name: 'conv2' })),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }),
      tf.layers.reLU({ name: 'relu2' }),
      tf.layers.flatten({ name: 'flatten' }),
      asDenseBias(tf.layers.dense({ units: width, activation: 'relu', name: 'fc1' })),
      asDenseBias(tf.layers.dense({ units: numClasses, name: 'fc2' })),
    ],
  });
}

/** Parameter count of buildMnistCnn, computed before building (for the memory check). */
export function mnistCnnParams(width: number, inputShape: readonly number[], numClasses: number): number {
  const flat = lenetSide(inputShape[0]!) * lenetSide(inputShape[1]!) * 20;
  return 260 + 5020 + (flat + 1) * width + (width + 1) * numClasses;
}

/**
 * The spec: m is fc1's units; PyTorch names are the original's (mnist_ntk.py `model_ntk`: conv1, conv2, fc1, fc2),
 * fc1 reading the flattened (c, h, w) map; the penultimate features are fc1's (after its relu).
 */
export const mnistCnn = defineModel({
  name: 'mnist-cnn',
  aliases: [],
  description:
    'paper MNIST CNN: conv(1->10,5x5) pool relu, conv(10->20,5x5) pool relu, dense 320->m relu, dense m->10',
  params: noParams,
  width: { default: 100, layers: () => ['fc1'] },
  inputShape: [28, 28, 1],
  weights: (o) => mnistCnnParams(o.width, o.inputShape, o.numClasses),
  build: (o) => buildMnistCnn(o.width, o.inputShape, o.numClasses, o.normalize),
  init: torchDefaultInit,
  features: () => 'fc1',
  torch: {
    source: 'mnist_ntk.py `model_ntk` of the original study',
    guess(shapes) {
      const dim = (k: string, i: number) => shapes.get(k)?.[i];
      const has = (k: string) => shapes.has(k);
      if (!['conv1', 'conv2', 'fc1', 'fc2'].every((m) => has(`${m}.weight`)) || has('fc3.weight'))
        return undefined;
      return { model: 'mnist-cnn', width: dim('fc1.weight', 0)!, numClasses: dim('fc2.weight', 0)! };
    },
  },
});
