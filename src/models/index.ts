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
  fastStepOf,
  featureOutput,
  isWidthScaled,
  listModels,
  type ModelInfo,
  type ModelListing,
  type ModelOptions,
  modelChoices,
  modelInfo,
  modelNames,
  modelSpec,
  parseModelParams,
  resolveName,
  specOf,
  torchModelNames,
} from './registry.js';
export { SeededDropout } from './seeded-dropout.js';
export {
  defineModel,
  type FastStep,
  initialisedInBuild,
  type ModelBuild,
  type ModelChoice,
  type ModelEntry,
  type ModelSpec,
  noParams,
  type TorchNames,
  torchDefaultInit,
} from './spec.js';
export {
  guessTorchModel,
  type TorchModelGuess,
  type TorchParam,
  torchParams,
} from './torch-names.js';
