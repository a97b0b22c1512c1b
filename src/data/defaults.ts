import { existsSync } from 'node:fs';
import { PoisonlabError } from '../util/errors.js';
import { readPoisonMeta } from './poison-file.js';

/**
 * The original study's settings per dataset: the gradient attacks' budgets and step (regimes A and B), the
 * surrogate, and the budgets `poisonlab theory` starts from. Each dataset poisonlab knows says its own row here
 * (DATASET_DEFAULTS), and a dataset spec finds its row in one function (datasetFamily): by name, through the
 * source a poison file records, or by a folder's or file's own name; any other spec has no defaults, and a caller
 * that needs one gets a one-line error asking for the value instead of another dataset's.
 */

/** The datasets with defaults of their own. */
export type DatasetFamily = 'mnist' | 'fashion-mnist' | 'cifar10' | 'toy';

export interface DatasetDefaults {
  /** Regime A's C (budget C sqrt(n)), regime B's B, the step eta, and the original's 500 epochs of batch 128. */
  attack: { C: number; B: number; step: number; epochs: number; batchSize: number };
  /** The original's surrogate: a model name, its width where it is width-scaled, and its learning rate. */
  surrogate: { model: string; width?: number; lr: number };
  /** The paper's budgets for the theory's bounds: regime A's C (absent: no regime A), B's B, C's beta. */
  theory: { budgetA?: number; budgetB: number; beta: number };
  /**
   * Per-channel input normalisation (mean, std in [0, 1] pixel units) that a config's `normalize` applies;
   * absent: the original normalises nothing for this dataset.
   */
  normalization?: { mean: number[]; std: number[] };
}

/** MNIST (the original's `mnist_ntk.py` defaults): C = 500, B = 1, eta = 0.1; the width-100 CNN at lr 0.1. */
const MNIST: DatasetDefaults = {
  attack: { C: 500, B: 1, step: 0.1, epochs: 500, batchSize: 128 },
  surrogate: { model: 'cnn', width: 100, lr: 0.1 },
  theory: { budgetA: 500, budgetB: 1, beta: 0.1 },
};

export const DATASET_DEFAULTS: Readonly<Record<DatasetFamily, DatasetDefaults>> = {
  mnist: MNIST,
  /**
   * Fashion-MNIST: the original has no settings for it; its images are MNIST's size and range (28x28, grey), so
   * poisonlab takes MNIST's, said here rather than by falling through.
   */
  'fashion-mnist': MNIST,
  /**
   * CIFAR-10: C = 1000, B = 1, eta = 0.5; AlexNet at lr 0.01. The original's per-channel normalisation of the
   * width-m networks: mean (0.4914, 0.4822, 0.4465), std (0.2471, 0.2435, 0.2616) (cifar_ntk.py lines 85-95,
   * passed as ART's preprocessing at line 205).
   */
  cifar10: {
    attack: { C: 1000, B: 1, step: 0.5, epochs: 500, batchSize: 128 },
    surrogate: { model: 'alexnet', lr: 0.01 },
    theory: { budgetA: 1000, budgetB: 1, beta: 0.1 },
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2471, 0.2435, 0.2616] },
  },
  /** The theory's toy: its experiment's B and beta, and no regime A; attacks and surrogates take MNIST's. */
  toy: { ...MNIST, theory: { budgetB: 0.975, beta: 0.4 } },
};

/**
 * How a folder or file names the dataset it holds, per dataset, checked in this order on the path's last two
 * components (`../shared/data/CIFAR10-jpeg`, `poisons/cifar-A-r0.npz`): each says its own; the toy is only
 * built in.
 */
const PATH_NAMES: readonly [DatasetFamily, RegExp][] = [
  ['cifar10', /cifar/i],
  ['fashion-mnist', /fashion/i],
  ['mnist', /mnist/i],
];

/** The clean source a poison file records (`meta.dataset`), if `spec` is a readable one. */
function poisonSource(spec: string): string | undefined {
  if (!spec.toLowerCase().endsWith('.npz') || !existsSync(spec)) return undefined;
  try {
    const source = readPoisonMeta(spec)?.dataset;
    return typeof source === 'string' && source !== spec ? source : undefined;
  } catch {
    return undefined; // not a poison file: its name decides
  }
}

/**
 * The row of a dataset spec, or undefined when none is known: a dataset's name (any case); a poison file's
 * recorded source; a folder or file whose name says a dataset (PATH_NAMES).
 */
export function findDatasetFamily(spec: string): DatasetFamily | undefined {
  const name = spec.toLowerCase();
  if (Object.hasOwn(DATASET_DEFAULTS, name)) return name as DatasetFamily;
  const source = poisonSource(spec);
  if (source !== undefined) {
    const family = findDatasetFamily(source);
    if (family) return family;
  }
  const tail = spec.split(/[\\/]/).filter(Boolean).slice(-2).join('/');
  return PATH_NAMES.find(([, pattern]) => pattern.test(tail))?.[0];
}

/**
 * The row of a dataset spec (see findDatasetFamily); a spec without one is a one-line error naming it, the
 * datasets that have defaults, and `expected` (what to give instead, e.g. `--budget and --step`).
 */
export function datasetFamily(spec: string, expected = 'the value given explicitly'): DatasetFamily {
  const family = findDatasetFamily(spec);
  if (family) return family;
  throw new PoisonlabError(
    `dataset '${spec}': no defaults of the original study are known for it (they are for ` +
      `${Object.keys(DATASET_DEFAULTS).join(', ')}, their poison files, and folders named after them); expected ${expected}`,
  );
}

/** The defaults of a dataset spec (see datasetFamily; `expected` says what to give when it has none). */
export function datasetDefaults(spec: string, expected?: string): DatasetDefaults {
  return DATASET_DEFAULTS[datasetFamily(spec, expected)];
}

/** The input normalisation of a dataset spec, or a one-line error when the original has none for it. */
export function datasetNormalization(spec: string): { mean: number[]; std: number[] } {
  const family = findDatasetFamily(spec);
  const n = family && DATASET_DEFAULTS[family].normalization;
  if (!n)
    throw new PoisonlabError(
      `normalize: no per-channel mean and std are known for dataset '${spec}' (only CIFAR-10's; the original normalises only CIFAR-10)`,
    );
  return { mean: [...n.mean], std: [...n.std] };
}
