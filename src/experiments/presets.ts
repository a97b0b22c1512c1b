import { PoisonlabError } from '../util/errors.js';
import { BACKDOOR_PRESETS } from './backdoor-presets.js';
import { type ExperimentConfig, parseConfig } from './config.js';
import { THEORY_PRESETS } from './theory-presets.js';

/** The paper's width grid: 10 ... 2e5. */
export const PAPER_WIDTHS = [10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5];

/**
 * The original protocol on MNIST (mission.md): mnist-cnn of width m, 5-fold stratified CV (all 5 folds),
 * 20 repetitions with the poison regenerated each time, lr 0.1, batch 128, up to 1000 epochs with patience
 * 30, attacks C = 500 / B = 1 / eta 0.1 / 500 epochs against the width-100 CNN surrogate. Regime C flips
 * labels y -> (y + 1) mod 10 with beta = 0.2 (our choice; the original does not fix one for MNIST).
 * Not finishable on a laptop: runnable, resumable and shardable.
 */
const paperMnist = {
  name: 'paper-mnist',
  dataset: 'mnist',
  model: 'mnist-cnn',
  widths: PAPER_WIDTHS,
  regimes: [
    { regime: 'clean' },
    { regime: 'A', budget: 500 },
    { regime: 'B', budget: 1 },
    { regime: 'C', beta: 0.2 },
  ],
  attack: { epochs: 500, step: 0.1, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'mnist-cnn', width: 100, epochs: 20, lr: 0.1, batchSize: 128 },
  training: { lr: 0.1, batchSize: 128, maxEpochs: 1000, patience: 30, momentum: 0, weightDecay: 0 },
  folds: { k: 5, run: [0, 1, 2, 3, 4] },
  repetitions: 20,
  seed: 0,
};

/** The original protocol on CIFAR-10: cifar-cnn of width m, AlexNet surrogate, C = 1000 / B = 1 / eta 0.5, lr 0.01, 5 repetitions. */
const paperCifar10 = {
  ...paperMnist,
  name: 'paper-cifar10',
  dataset: 'cifar10',
  model: 'cifar-cnn',
  regimes: [
    { regime: 'clean' },
    { regime: 'A', budget: 1000 },
    { regime: 'B', budget: 1 },
    { regime: 'C', beta: 0.2 },
  ],
  attack: { epochs: 500, step: 0.5, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'alexnet', epochs: 30, lr: 0.01, batchSize: 128 },
  training: { ...paperMnist.training, lr: 0.01 },
  repetitions: 5,
};

/**
 * The paper's MNIST shape scaled to finish in a few minutes on a 2-core laptop: 6,000 training and 2,000
 * test images, six widths from 10 to 20,000, one fold of five, two repetitions, at most 6 epochs with
 * patience 2, and a 10-epoch attack (step 20) against a 3-epoch surrogate. Budgets: C = 500 (the paper's),
 * B = 3 (the original's earlier documented MNIST setting: B = 1 barely moves a 10-epoch attack), beta 0.2.
 */
const quick = {
  ...paperMnist,
  name: 'quick',
  limit: 6000,
  testLimit: 2000,
  widths: [10, 50, 200, 1000, 5000, 20000],
  regimes: [
    { regime: 'clean' },
    { regime: 'A', budget: 500 },
    { regime: 'B', budget: 3 },
    { regime: 'C', beta: 0.2 },
  ],
  // eta 20 instead of 0.1: with 10 instead of 500 epochs, eta 0.1 leaves regime A's delta at ~0.2% of its budget.
  attack: { epochs: 10, step: 20, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'mnist-cnn', width: 100, epochs: 3, lr: 0.1, batchSize: 128 },
  training: { ...paperMnist.training, maxEpochs: 6, patience: 2 },
  folds: { k: 5, run: [0] },
  repetitions: 2,
};

const PRESETS: Record<string, unknown> = {
  quick,
  'paper-mnist': paperMnist,
  'paper-cifar10': paperCifar10,
  ...THEORY_PRESETS,
  ...BACKDOOR_PRESETS,
};

/** Register a further preset (e.g. a theory toy sweep); it is validated when used. */
export function registerPreset(name: string, raw: unknown): void {
  PRESETS[name] = raw;
}

/** Names of the presets, for --help and errors. */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** The validated config of preset `name`; an unknown name is a one-line error listing the known ones. */
export function getPreset(name: string): ExperimentConfig {
  const raw = PRESETS[name];
  if (raw === undefined)
    throw new PoisonlabError(
      `--preset: unknown preset '${name}', expected one of ${presetNames().join(', ')}`,
    );
  return parseConfig(structuredClone(raw), `preset ${name}`);
}
