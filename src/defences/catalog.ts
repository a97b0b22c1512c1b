/** The built-in defences, registered once: adding one is its file, one line here and its test. */
import { activationClustering } from './activation-clustering.js';
import { adversarialTraining } from './adversarial-training.js';
import { bitDepth } from './bit-depth.js';
import { imageShortcutSqueezing } from './iss.js';
import { neuralCleanse } from './neural-cleanse.js';
import { registerDefence } from './registry.js';
import { spectralSignatures } from './spectral-signatures.js';
import { strip } from './strip.js';

registerDefence(spectralSignatures);
registerDefence(activationClustering);
registerDefence(bitDepth);
registerDefence(imageShortcutSqueezing);
registerDefence(adversarialTraining);
registerDefence(strip);
registerDefence(neuralCleanse);
