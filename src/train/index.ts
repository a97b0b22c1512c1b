export {
  CHECKPOINT_VERSION,
  type CheckpointMeta,
  loadCheckpoint,
  saveCheckpoint,
  weightKey,
} from './checkpoint.js';
export { evaluate, predictLogits } from './evaluate.js';
export { type FitRun, fit, protocolSplit, type TrainingProtocol } from './fit.js';
export { defaultLoss, perSampleLoss } from './losses.js';
export {
  namedMetrics,
  predictedClasses,
  type TestTargets,
  type TestTrigger,
  targetMargin,
  targetMetrics,
} from './metrics.js';
export { checkTrainOptions, TrainingStopped, train } from './train.js';
export type { EpochMetrics, LossKind, TrainData, TrainOptions, TrainResult } from './types.js';
