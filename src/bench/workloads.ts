import * as tf from '@tensorflow/tfjs';
import { createModel } from '../models/index.js';

/**
 * The workloads of ../shared/bench/torch_reference.py, with the same names and shapes, so that
 * `poisonlab bench` and the PyTorch reference can be compared as a ratio on one machine.
 * Each workload builds its state once and returns a `step` that runs one batch (batch 128).
 */
export interface Workload {
  name: string;
  /** Samples per step. */
  batch: number;
  /** Build the model and data; the returned step runs one training (or attack) step. */
  setup(): { step: () => void; dispose: () => void };
}

const BATCH = 128;

function randomInputs(shape: number[], classes: number, binary: boolean) {
  const x = tf.randomUniform([BATCH, ...shape], 0, 1, 'float32', 1);
  const y = binary
    ? tf.tidy(() => tf.randomUniform([BATCH], 0, 2, 'int32', 2).mul(2).sub(1).toFloat())
    : tf.oneHot(tf.randomUniform([BATCH], 0, classes, 'int32', 2), classes).toFloat();
  return { x, y };
}

/** One SGD step (lr 0.01, as the reference) on cross-entropy, or logistic loss for one-logit models. */
function trainWorkload(name: string, model: string, inputShape: number[], width?: number): Workload {
  const binary = model === 'twolayer';
  return {
    name,
    batch: BATCH,
    setup() {
      const net = createModel(model, {
        ...(width !== undefined && { width }),
        inputShape,
        // the two-layer net is the theory's binary model: one logit, labels +-1
        numClasses: binary ? 2 : 10,
        seed: 0,
      });
      const { x, y } = randomInputs(inputShape, 10, binary);
      const opt = tf.train.sgd(0.01);
      const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
      const loss = () =>
        tf.tidy(() => {
          const out = net.apply(x, { training: true }) as tf.Tensor;
          return binary
            ? (tf.mean(tf.softplus(tf.neg(tf.mul(y, tf.reshape(out, [BATCH]))))) as tf.Scalar)
            : (tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar);
        });
      return {
        step: () => {
          const l = opt.minimize(loss, true, vars);
          l?.dataSync();
          l?.dispose();
        },
        dispose: () => {
          tf.dispose([x, y]);
          opt.dispose();
          net.dispose();
        },
      };
    },
  };
}

/** One step of the poisoning attack: gradient of -CE(-f(x + d), y) w.r.t. d, then d += 0.1 g. */
function attackWorkload(name: string, model: string, inputShape: number[], width?: number): Workload {
  return {
    name,
    batch: BATCH,
    setup() {
      const net = createModel(model, {
        ...(width !== undefined && { width }),
        inputShape,
        numClasses: 10,
        seed: 0,
      });
      const { x, y } = randomInputs(inputShape, 10, false);
      const delta = tf.variable(tf.zerosLike(x));
      const grad = tf.grad((d: tf.Tensor) =>
        tf.neg(
          tf.losses.softmaxCrossEntropy(y, tf.neg(net.apply(tf.add(x, d), { training: false }) as tf.Tensor)),
        ),
      );
      return {
        step: () => {
          tf.tidy(() => {
            delta.assign(tf.add(delta, tf.mul(0.1, grad(delta))));
          });
          delta.dataSync();
        },
        dispose: () => {
          tf.dispose([x, y, delta]);
          net.dispose();
        },
      };
    },
  };
}

const MNIST: number[] = [28, 28, 1];
const CIFAR: number[] = [32, 32, 3];

/** All workloads, in the reference's order and with its names. */
export const WORKLOADS: Workload[] = [
  ...[100, 1000, 10000, 100000].map((m) => trainWorkload(`mnist_cnn_train_m${m}`, 'mnist-cnn', MNIST, m)),
  attackWorkload('mnist_cnn_attack_m100', 'mnist-cnn', MNIST, 100),
  ...[1000, 16384].map((m) => trainWorkload(`twolayer_mnist_train_m${m}`, 'twolayer', [784], m)),
  ...[100, 10000].map((m) => trainWorkload(`cifar_cnn_train_m${m}`, 'cifar-cnn', CIFAR, m)),
  trainWorkload('cifar_alexnet_train', 'alexnet', CIFAR),
  attackWorkload('cifar_alexnet_attack', 'alexnet', CIFAR),
];
