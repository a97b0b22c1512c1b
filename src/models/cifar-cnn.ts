import * as tf from '@tensorflow/tfjs';
import { asConvBias, asDenseBias } from './fused-layers.js';
import { firstLayerShape, type InputNormalizationSpec, inputLayers } from './normalize.js';
import { checkImageShape, lenetSide } from './shapes.js';
import { defineModel, noParams, torchDefaultInit } from './spec.js';

/**
 * The paper's CIFAR-10 network of width m (NHWC, outputs logits):
 * conv(3->6, 5x5) relu maxpool2, conv(6->16, 5x5) relu maxpool2, flatten (400 for 32x32),
 * dense 400->120 relu, dense 120->m relu, dense m->10; with `normalize`, per-channel input normalisation first
 * (the original's transforms, see normalize.ts).
 */
export function buildCifarCnn(
  width: number,
  inputShape: readonly number[],
  numClasses: number,
  normalize?: InputNormalizationSpec,
): tf.LayersModel {
  checkImageShape('cifar-cnn', inputShape, 3, 16);
  return tf.sequential({
    layers: [
      ...inputLayers(inputShape, normalize),
      // conv + bias + relu as one kernel (see asConvBias)
      asConvBias(
        tf.layers.conv2d({
          ...firstLayerShape(inputShape, normalize),
          filters: 6,
          kernelSize: 5,
          activation: 'relu',
          name: 'conv1',
        }),
      ),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      asConvBias(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', name: 'conv2' })),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }),
      tf.layers.flatten({ name: 'flatten' }),
      asDenseBias(tf.layers.dense({ units: 120, activation: 'relu', name: 'fc1' })),
      asDenseBias(tf.layers.dense({ units: width, activation: 'relu', name: 'fc2' })),
      asDenseBias(tf.layers.dense({ units: numClasses, name: 'fc3' })),
    ],
  });
}

/** Parameter count of buildCifarCnn, computed before building (for the memory check). */
export function cifarCnnParams(width: number, inputShape: readonly number[], numClasses: number): number {
  const flat = lenetSide(inputShape[0]!) * lenetSide(inputShape[1]!) * 16;
  return 456 + 2416 + (flat + 1) * 120 + 121 * width + (width + 1) * numClasses;
}

/**
 * The spec: m is fc2's units; PyTorch names are the original's (cifar_ntk.py `model_ntk`: conv_1, conv_2, fc_1,
 * fc_2, fc_3; conv1 ... fc3 also read); the penultimate features are fc2's (after its relu).
 */
export const cifarCnn = defineModel({
  name: 'cifar-cnn',
  aliases: [],
  description:
    'paper CIFAR-10 CNN: conv(3->6,5x5) relu pool, conv(6->16,5x5) relu pool, dense 400->120->m->10',
  params: noParams,
  width: { default: 100, layers: () => ['fc2'] },
  inputShape: [32, 32, 3],
  weights: (o) => cifarCnnParams(o.width, o.inputShape, o.numClasses),
  build: (o) => buildCifarCnn(o.width, o.inputShape, o.numClasses, o.normalize),
  init: torchDefaultInit,
  features: () => 'fc2',
  torch: {
    source: 'cifar_ntk.py `model_ntk` of the original study',
    module: (layer) => layer.replace(/^(conv|fc)(\d)$/, '$1_$2'),
    canonicalKey: (key) => key.replace(/^(conv|fc)(\d)\./, '$1_$2.'),
    guess(shapes) {
      const has = (k: string) => shapes.has(k);
      const dim = (k: string, i: number) => shapes.get(k)?.[i];
      const sep = has('conv_1.weight') ? '_' : has('conv1.weight') && has('fc3.weight') ? '' : undefined;
      if (sep === undefined || !has(`fc${sep}2.weight`) || !has(`fc${sep}3.weight`)) return undefined;
      return {
        model: 'cifar-cnn',
        width: dim(`fc${sep}2.weight`, 0)!,
        numClasses: dim(`fc${sep}3.weight`, 0)!,
      };
    },
  },
});
