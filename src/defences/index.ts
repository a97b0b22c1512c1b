/** Poison defences: the registry (./registry.ts), its entries (./catalog.ts) and the features they read. */
import './catalog.js';

export { activationClustering } from './activation-clustering.js';
export { adversarialTraining, pgdBatch } from './adversarial-training.js';
export { bitDepth, squeezeBits } from './bit-depth.js';
export { penultimateFeatures } from './features.js';
export { grayscaleSqueeze, imageShortcutSqueezing, jpegSqueeze } from './iss.js';
export { anomalyIndices, neuralCleanse, reverseTrigger } from './neural-cleanse.js';
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
  registerDefence,
  removalScores,
} from './registry.js';
export { spectralSignatures } from './spectral-signatures.js';
export { strip, stripEntropies } from './strip.js';
