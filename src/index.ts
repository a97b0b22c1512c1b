/**
 * poisonlab as a library: data -> attack -> train -> experiment -> report.
 *
 * ```ts
 * import { initBackend, loadDataset, createModel, train, createAttack } from 'poisonlab';
 * await initBackend();
 * const { train: clean, test } = await loadDataset('mnist', { limit: 5000 });
 * const model = createModel('cnn', { width: 200, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
 * const result = await train(model, { train: clean, test }, { epochs: 1, batchSize: 128, lr: 0.1, seed: 0 });
 * console.log(result.final.testAccuracy);
 * ```
 */
export * from './attacks/index.js';
export { type BackendInfo, backendInfo, checkMemory, initBackend } from './backend/index.js';
export * from './data/index.js';
export * from './defences/index.js';
export { type NdArray, readNpz, writeNpz } from './io/npz.js';
export { readPth, type TorchStateDict } from './io/pth.js';
export { readSafetensors, type Safetensors, writeSafetensors } from './io/safetensors.js';
export { type DType, type RawTensor, toFloat32 } from './io/tensor.js';
export * from './models/index.js';
export * from './theory/bounds.js';
export * from './theory/margin.js';
export {
  type CheckpointMeta,
  defaultLoss,
  type EpochMetrics,
  evaluate,
  type LossKind,
  loadCheckpoint,
  predictLogits,
  saveCheckpoint,
  type TrainData,
  type TrainOptions,
  type TrainResult,
  train,
} from './train/index.js';
export {
  type LoadedModel,
  loadModelFile,
  loadTorchModel,
  type ModelHints,
  saveTorchSafetensors,
  torchStateDict,
} from './train/torch-checkpoint.js';
export { PoisonlabError } from './util/errors.js';
export { Rng } from './util/rng.js';
