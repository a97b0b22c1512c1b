/**
 * poisonlab as a library, one group per stage: data -> attacks -> defences -> train -> sweeps -> results -> report,
 * beside theory, surrogates and checkpoints. Only what a user builds with is here; the internals (kernels, heap
 * operations, file parsers such as tar and IDX) stay behind these names.
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

import { gradientRegimeOf } from './attacks/index.js';
import { writeReport as writeReportOfStore } from './report/index.js';

// Attacks: the paper's regimes A, B, C and the registry of every attack (`poisonlab attacks`), which a new attack
// joins with defineAttack + registerAttack (docs/architecture.md).
export {
  type AscentAttackOptions,
  type Attack,
  type AttackContext,
  type AttackDefaults,
  type AttackEntry,
  type AttackKind,
  type AttackNeeds,
  type AttackOutcome,
  type AttackReport,
  attackDefaults,
  createAttack,
  createRegisteredAttack,
  defineAttack,
  describeParams,
  findAttack,
  flipLabels,
  getAttackEntry,
  l21Perturbation,
  labelFlip,
  listAttacks,
  type ParamInfo,
  type PoisonResult,
  parseAttackParams,
  perSamplePerturbation,
  type Regime,
  registerAttack,
  shiftAttack,
  type Trigger,
} from './attacks/index.js';
// Surrogates: the frozen network the gradient attacks ascend against; trained here, saved, or imported
// (`paper:mnist` is the original study's own).
export { isPaperSurrogate, resolveSurrogatePath } from './attacks/pretrained.js';
// Backend: start it once before anything computes (tfjs's wasm backend with poisonlab's kernels).
export { type BackendInfo, backendInfo, initBackend } from './backend/index.js';
// Sweeps: a config (the one schema of the CLI, config files and presets), run in a worker pool, resumable.
export {
  applyOverrides,
  type ConfigOverrides,
  configHash,
  type ExperimentConfig,
  ExperimentConfigSchema,
  loadConfigFile,
  parseConfig,
} from './config/schema.js';
// Datasets: MNIST, Fashion-MNIST, CIFAR-10, image folders, the theory's toy and poisoned .npz files; splits and
// binary tasks; the original study's settings per dataset; the poison file format.
export { binaryTask } from './data/binary-task.js';
export {
  type Dataset,
  type DatasetSplit,
  numClasses,
  numSamples,
  sampleSize,
  subset,
  take,
  validateDataset,
} from './data/dataset.js';
export { type DatasetDefaults, type DatasetFamily, datasetDefaults, datasetFamily } from './data/defaults.js';
export { type FetchCifarOptions, type FetchCifarResult, fetchCifar10 } from './data/fetch-cifar.js';
export { type ImageFolderOptions, loadImageFolder, loadImageFolderSplit } from './data/image-folder.js';
export { type LoadOptions, loadDataset } from './data/load.js';
export {
  type PoisonFile,
  type PoisonFileMeta,
  readPoisonFile,
  writePoisonFile,
} from './data/poison-file.js';
export { stratifiedKFold, type TrainValOptions, trainValSplit } from './data/split.js';
export { type GaussianToyOptions, gaussianToy, gaussianToySplit } from './data/toy.js';
// Defences: the registry (`poisonlab defences`) and the penultimate features that feature defences read.
export {
  createDefence,
  type Defence,
  type DefenceEntry,
  type DefenceInput,
  type DefenceOutcome,
  type DefenceReport,
  defineDefence,
  findDefence,
  getDefenceEntry,
  listDefences,
  parseDefenceParams,
  penultimateFeatures,
  registerDefence,
} from './defences/index.js';
export { type MergeSummary, mergeSweeps } from './experiments/merge.js';
export {
  getPreset,
  PRESET_PROTOCOLS,
  presetNames,
  presetRaw,
  registerPreset,
} from './experiments/presets.js';
export {
  checkSweepSucceeded,
  runSweep,
  type SweepEvent,
  type SweepOptions,
  type SweepSummary,
} from './experiments/sweep.js';
export {
  attackLabel,
  checkRegistryRefs,
  defenceLabel,
  parseSweepConfig,
} from './experiments/validate.js';
// Checkpoints: poisonlab's own (.npz) and PyTorch's (.pth state_dicts, .safetensors), both ways.
export { type NdArray, readNpz, writeNpz } from './io/npz.js';
export { readPth, type TorchStateDict } from './io/pth.js';
export { readSafetensors, type Safetensors, writeSafetensors } from './io/safetensors.js';
// Models: the registry (`poisonlab models`) and parameter counts as PyTorch counts them.
export {
  countParams,
  createModel,
  listModels,
  type ModelInfo,
  type ModelOptions,
  modelInfo,
} from './models/index.js';
// Report: CSV, Markdown, SVG/PNG plots and HTML of a sweep folder, from its store alone; the attack registry says
// which `attacks` entries are the paper's regimes A and B (for the budget-scaling table), as in the CLI.
export type { ReportResult } from './report/index.js';
export const writeReport: typeof writeReportOfStore = (dir, opts = {}) =>
  writeReportOfStore(dir, { paperRegimeOf: gradientRegimeOf, ...opts });
// Results: a sweep folder's store (runs.sqlite) and the aggregation of its runs.
export {
  aggregate,
  bestWidths,
  type CellStats,
  type EpochRecord,
  type PoisonRecord,
  type RunRecord,
  SweepStore,
  sweepPaths,
  type TheoryOverlay,
} from './results/index.js';
// Theory: the paper's bounds (width window, error bound per regime) and the margin estimate.
export * from './theory/bounds.js';
export * from './theory/margin.js';
// Training: the paper's protocol (SGD, early stopping on validation, best-validation weights) and evaluation.
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
  loadSurrogate,
  type SurrogateHints,
  type SurrogateMeta,
  type SurrogateOptions,
  saveSurrogate,
  surrogateDefaults,
  type TrainedSurrogateMeta,
  trainSurrogate,
} from './train/surrogate.js';
export {
  type LoadedModel,
  loadModelFile,
  loadTorchModel,
  type ModelHints,
  saveTorchSafetensors,
  torchStateDict,
} from './train/torch-checkpoint.js';

// Errors (every bad input is a one-line PoisonlabError) and the seeded random numbers.
export { PoisonlabError } from './util/errors.js';
export { Rng } from './util/rng.js';
