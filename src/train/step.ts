import * as tf from '@tensorflow/tfjs';
import { fastStepOf } from '../models/registry.js';
import { batchLoss } from './losses.js';
import type { Sgd } from './sgd.js';
import { twoLayerFusedStep } from './two-layer-batch.js';
import type { LossKind, MinibatchStep, StepResult } from './types.js';

export type { MinibatchStep, StepResult } from './types.js';

/**
 * How `train` runs a model's SGD steps, picked once per training run (chooseStepStrategy):
 * - 'two-layer-online': a spec with `fastStep: 'two-layer'` (the theory's two-layer net), logistic loss, batch size 1: whole epochs in plain
 *   JS (two-layer-fast.ts), without tfjs's per-op overhead;
 * - 'two-layer-fused': the same net and loss with plain SGD on the wasm backend: each step is two matrix
 *   products and one pass on the heap (two-layer-batch.ts);
 * - 'toy-ntk-online': a spec with `fastStep: 'toy-ntk'` (the original toy's net), BCE on one-hot labels, plain SGD, batch size 1: whole
 *   epochs in plain JS (toy-ntk-online.ts), whose validation pass is cheap enough to run after every step;
 * - 'generic': forward, tape, gradients and the optimiser's update (sgdStep).
 */
export type StepStrategy = 'two-layer-online' | 'two-layer-fused' | 'toy-ntk-online' | 'generic';

/**
 * The step strategy for `model`, from the fast step its spec declares (`fastStep`, models/spec.ts; a model
 * createModel did not build has none), the loss, the optimiser and the batch
 * size. `perStepValidation` (keepBest every step) rules out 'two-layer-online', which cannot validate mid-epoch.
 */
export function chooseStepStrategy(
  model: tf.LayersModel,
  kind: LossKind,
  optimizer: Sgd,
  batchSize: number,
  perStepValidation = false,
): StepStrategy {
  const fast = fastStepOf(model);
  if (fast === 'toy-ntk' && kind === 'bce-onehot' && batchSize === 1)
    return optimizer.plainLearningRate() !== null ? 'toy-ntk-online' : 'generic';
  if (fast !== 'two-layer' || kind !== 'logistic') return 'generic';
  if (batchSize === 1) return perStepValidation ? 'generic' : 'two-layer-online';
  return optimizer.plainLearningRate() !== null && tf.getBackend() === 'wasm' ? 'two-layer-fused' : 'generic';
}

/**
 * The step function of a minibatch strategy ('two-layer-online' and 'toy-ntk-online' run whole epochs
 * instead and have none; they get the generic step here). The benchmark times these same functions.
 */
export function minibatchStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  optimizer: Sgd,
  kind: LossKind,
  strategy: StepStrategy,
): MinibatchStep {
  const generic: MinibatchStep = (xb, yb) => sgdStep(model, vars, optimizer, xb, yb, kind);
  return strategy === 'two-layer-fused' ? twoLayerFusedStep(model, vars, optimizer, generic) : generic;
}

/**
 * One generic minibatch SGD step: forward in training mode, the mean per-sample loss (perSampleLoss,
 * through batchLoss) of the batch, its gradients with respect to `vars`, then the optimizer's update.
 */
export function sgdStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  optimizer: Sgd,
  xb: tf.Tensor,
  yb: tf.Tensor,
  kind: LossKind,
): StepResult {
  return tf.tidy(() => {
    let correct: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const { loss, correct: c } = batchLoss(model.apply(xb, { training: true }) as tf.Tensor, yb, kind);
      correct = tf.keep(c);
      return loss;
    }, vars);
    optimizer.step(vars, grads);
    // `correct` was kept to leave variableGrads' scope; hand the caller a tracked copy
    const count = tf.clone(correct!) as tf.Scalar;
    correct!.dispose();
    return { loss: value, correct: count };
  });
}
