import * as tf from '@tensorflow/tfjs';
import { negatedLossGradient } from '../attacks/objective.js';
import { createModel, modelSpec } from '../models/index.js';
import { defaultLoss } from '../train/losses.js';
import { Sgd } from '../train/sgd.js';
import { chooseStepStrategy, minibatchStep } from '../train/step.js';

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

/** A fixed batch: uniform inputs and class indices (int32; 0 / 1 for the binary two-layer net). */
function randomInputs(shape: number[], classes: number) {
  const x = tf.randomUniform([BATCH, ...shape], 0, 1, 'float32', 1);
  const y = tf.randomUniform([BATCH], 0, classes, 'int32', 2) as tf.Tensor1D;
  return { x, y };
}

/**
 * One step of `train` (its minibatch step for the model: Sgd with lr 0.01, as the reference, on the
 * trainer's loss: cross-entropy, or the logistic loss for the one-logit two-layer net) on a fixed batch.
 */
function trainWorkload(name: string, model: string, inputShape: number[], width?: number): Workload {
  const classes = modelSpec(model).classes ?? 10;
  return {
    name,
    batch: BATCH,
    setup() {
      const net = createModel(model, {
        ...(width !== undefined && { width }),
        inputShape,
        // a model made for a class count gets it (the two-layer net: one logit, classes 0 / 1); others 10
        numClasses: classes,
        seed: 0,
      });
      const { x, y } = randomInputs(inputShape, classes);
      const kind = defaultLoss(net);
      const opt = new Sgd(0.01);
      const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
      const trainStep = minibatchStep(net, vars, opt, kind, chooseStepStrategy(net, kind, opt, BATCH));
      return {
        step: () => {
          tf.tidy(() => {
            trainStep(x, y).loss.dataSync();
          });
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

/**
 * One step of the poisoning attack: the attack's gradient (negatedLossGradient, the gradient of
 * -CE(-f(x + d), y) with respect to d), then d += 0.1 g.
 */
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
      const { x, y } = randomInputs(inputShape, 10);
      const delta = tf.variable(tf.zerosLike(x));
      return {
        step: () => {
          tf.tidy(() => {
            delta.assign(tf.add(delta, tf.mul(0.1, negatedLossGradient(net, x, delta, y))));
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
