export { initTorchDefaults, torchUniformBound } from './init.js';
export {
  checkNormalization,
  InputNormalization,
  type InputNormalizationSpec,
  normalizationLayer,
  withRawInput,
} from './normalize.js';
export {
  countParams,
  createModel,
  estimateWeights,
  listModels,
  type ModelInfo,
  type ModelOptions,
  modelInfo,
  resolveName,
} from './registry.js';
export { SeededDropout } from './seeded-dropout.js';
export {
  guessTorchModel,
  TORCH_MODELS,
  type TorchModelGuess,
  type TorchParam,
  torchParams,
} from './torch-names.js';
