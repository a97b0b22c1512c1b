import * as tf from '@tensorflow/tfjs';
import { twoLayerStepOnHeap } from '../backend/two_layer_step.js';
import type { Sgd } from './sgd.js';
import type { StepResult } from './step.js';
import { isTwoLayer } from './twoLayerFast.js';
import type { LossKind } from './types.js';

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
 * backend/two_layer_step.ts): the same update as sgdStep's generic path, without its ~20 kernels.
 * Returns null, having done nothing, when the model, loss, optimizer or backend do not fit.
 */
export function twoLayerBatchStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  optimizer: Sgd,
  xb: tf.Tensor,
  yb: tf.Tensor,
  kind: LossKind,
): StepResult | null {
  const lr = optimizer.plainLearningRate();
  if (kind !== 'logistic' || lr === null || vars.length !== 1 || !isTwoLayer(model)) return null;
  const head = model.getLayer('output') as unknown as DenseInternals;
  const rescale = model.getLayer('scale') as unknown as RescaleInternals;
  if (rescale.offset !== 0) return null;
  const w = vars[0]!;
  if (w !== (model.getLayer('hidden') as unknown as DenseInternals).kernel.read()) return null;
  const r = twoLayerStepOnHeap(xb, yb, w, head.kernel.read(), lr, rescale.scale);
  if (!r) return null;
  const n = xb.shape[0]!;
  return { loss: tf.scalar(r.lossSum / n), correct: tf.scalar(r.correct) };
}
