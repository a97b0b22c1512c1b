import * as tf from '@tensorflow/tfjs';
import { asConvBias, asDenseBias } from './fused-layers.js';
import { firstLayerShape, type InputNormalizationSpec, inputLayers } from './normalize.js';
import { checkImageShape, lenetSide } from './shapes.js';

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
