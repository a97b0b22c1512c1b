import * as tf from '@tensorflow/tfjs';

/** The study's MNIST CNN of width m (mission.md), built with tfjs layers, NHWC [28, 28, 1]. */
export function mnistCnn(m: number, seed = 0): tf.Sequential {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 10, kernelSize: 5, kernelInitializer: init(1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.reLU(),
      tf.layers.conv2d({ filters: 20, kernelSize: 5, kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: m, activation: 'relu', kernelInitializer: init(3) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(4) }),
    ],
  });
}

/**
 * Samples/s of SGD training steps (softmax cross-entropy, lr 0.1) of `model` on random
 * inputs of `inputShape` with `batch` samples: median over `steps` timed steps after one warm-up.
 */
export function trainStepsPerSecond(
  model: tf.LayersModel,
  inputShape: number[],
  batch: number,
  steps: number,
): number {
  const opt = tf.train.sgd(0.1);
  const x = tf.randomUniform([batch, ...inputShape], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D, 10);
  const step = () =>
    tf.tidy(() => {
      const cost = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      );
      cost?.dataSync();
    });
  step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((p, q) => p - q);
  tf.dispose([x, y]);
  opt.dispose();
  return batch / (times[Math.floor(times.length / 2)] / 1000);
}
