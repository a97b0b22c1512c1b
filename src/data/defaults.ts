import { PoisonlabError } from '../util/errors.js';

/**
 * The original study's settings per dataset, in one table: the gradient attacks' budgets and step (regimes A
 * and B), the surrogate, and the budgets `poisonlab theory` starts from. A dataset spec picks its row by name
 * here and nowhere else (datasetFamily).
 */

export type DatasetFamily = 'mnist' | 'cifar10' | 'toy';

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
 * The row of a dataset spec: 'cifar' anywhere in it (`cifar10`, a CIFAR-10 folder or poison file) is CIFAR-10,
 * `toy` is the toy, and everything else (MNIST, Fashion-MNIST, other folders) gets MNIST's.
 */
export function datasetFamily(spec: string): DatasetFamily {
  const s = spec.toLowerCase();
  if (s.includes('cifar')) return 'cifar10';
  if (s === 'toy') return 'toy';
  return 'mnist';
}

/** The defaults of a dataset spec (see datasetFamily). */
export function datasetDefaults(spec: string): DatasetDefaults {
  return DATASET_DEFAULTS[datasetFamily(spec)];
}

/** The input normalisation of a dataset spec, or a one-line error when the original has none for it. */
export function datasetNormalization(spec: string): { mean: number[]; std: number[] } {
  const n = datasetDefaults(spec).normalization;
  if (!n)
    throw new PoisonlabError(
      `normalize: no per-channel mean and std are known for dataset '${spec}' (only CIFAR-10's; the original normalises only CIFAR-10)`,
    );
  return { mean: [...n.mean], std: [...n.std] };
}
