import * as tf from '@tensorflow/tfjs';
import { twoLayerStepOnHeap } from '../backend/two-layer-step.js';
import type { Sgd } from './sgd.js';
import type { MinibatchStep } from './types.js';

/** The parts of the two-layer model's layers this module reads (protected in the typings). */
interface DenseInternals {
  kernel: tf.LayerVariable;
}
interface RescaleInternals {
  scale: number;
  offset: number;
}

/**
 * The minibatch step of the theory's two-layer net (createModel('twolayer')) on the logistic loss
 * with plain SGD, fused into two matrix products and one pass with W updated in place (see
 * backend/two-layer-step.ts): the same update as the generic step, without its ~20 kernels. The
 * model's layers are read once, here; a batch the fused step does not cover (another backend, W's
 * data shared with another tensor) takes `generic`, as does every batch when the model is not
 * as createModel built it.
 */
export function twoLayerFusedStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  optimizer: Sgd,
  generic: MinibatchStep,
): MinibatchStep {
  const lr = optimizer.plainLearningRate();
  const head = model.getLayer('output') as unknown as DenseInternals;
  const rescale = model.getLayer('scale') as unknown as RescaleInternals;
  const w = vars[0];
  const hidden = model.getLayer('hidden') as unknown as DenseInternals;
  if (lr === null || vars.length !== 1 || rescale.offset !== 0 || w !== hidden.kernel.read()) return generic;
  return (xb, yb) => {
    const r = twoLayerStepOnHeap(xb, yb, w, head.kernel.read(), lr, rescale.scale);
    if (!r) return generic(xb, yb);
    const n = xb.shape[0]!;
    return { loss: tf.scalar(r.lossSum / n), correct: tf.scalar(r.correct) };
  };
}
