/**
 * Presets of the paper's theory-side experiments (its two-Gaussian toy, and the original's
 * sample-size experiment), as raw configs; ./presets.ts registers them and validates them when used.
 */

/** Toy widths: 10 .. 2e4 (the theory's window starts near 1/gamma^8 ~ 2e3 on the toy). */
export const TOY_WIDTHS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];

/**
 * The original's toy: 2-D Gaussians at (+-5, 0), unit-normalised, 1000 train / 200 test (`toy`); the theory's
 * two-layer net (fixed +-1 top layer, no bias), logistic loss, batch 1, one online pass, lr 0.1; no validation
 * split. Regimes: clean, B = the deterministic shift by 0.975 towards the other class, C = flips with beta 0.4.
 * The report draws the theorem's width window (gamma estimated on the clean training set, delta 0.05,
 * constants 1). 20 repetitions by default, a few minutes on 2 cores (the original: 100; `--reps 100` gives those).
 */
export const theoryToy = {
  name: 'theory-toy',
  dataset: 'toy',
  model: 'twolayer',
  widths: TOY_WIDTHS,
  regimes: [{ regime: 'clean' }, { regime: 'B', budget: 0.975, attack: 'shift' }, { regime: 'C', beta: 0.4 }],
  training: { lr: 0.1, batchSize: 1, maxEpochs: 1, momentum: 0, weightDecay: 0 },
  repetitions: 20,
  seed: 0,
  theory: { delta: 0.05, constant: 1 },
};

/**
 * The original's toy as toy_gaussian_ntk.py ran it (deleted from the authors' repository; read at commit c8d5d7e;
 * docs/reproduction.md, "The original's toy", traces every setting to its line): the same data as `theory-toy`,
 * but the original's network (`toy-ntk`: two logits, fixed random +-1 top layer, no 1/sqrt(m), PyTorch-uniform
 * first layer), BCEWithLogitsLoss on one-hot labels, batch 1, one pass, lr 0.1, stratified 5-fold split with every
 * fold run (800 train / 200 poisoned validation points), the weights of the lowest validation loss checked after
 * every step, 100 repetitions. Budgets are the README's (B = 0.975, beta = 0.4), as in `theory-toy`.
 */
export const theoryToyOriginal = {
  name: 'theory-toy-original',
  dataset: 'toy',
  model: 'toy-ntk',
  widths: TOY_WIDTHS,
  regimes: theoryToy.regimes,
  training: {
    lr: 0.1,
    batchSize: 1,
    maxEpochs: 1,
    momentum: 0,
    weightDecay: 0,
    loss: 'bce-onehot',
    keepBest: { by: 'loss', every: 'step' },
  },
  folds: { k: 5, run: [0, 1, 2, 3, 4] },
  repetitions: 100,
  seed: 0,
};

/**
 * The two-layer theory net on a binary MNIST task (even vs odd digits, raw pixels), logistic loss, minibatch
 * SGD (batch 64, lr 0.1, at most 8 epochs, patience 3 on fold 0 of 5), widths 16 .. 16384, on the first
 * 2,000 training and 2,000 test images. Poisons of A (C = 500) and B (B = 1) are made against a width-100
 * two-layer surrogate (10 attack epochs, step 20 as in `quick`); C flips with beta 0.2.
 */
export const theoryMnist = {
  name: 'theory-mnist',
  dataset: 'mnist',
  classes: 'even-odd',
  limit: 2000,
  testLimit: 2000,
  model: 'twolayer',
  widths: [16, 64, 256, 1024, 4096, 16384],
  regimes: [
    { regime: 'clean' },
    { regime: 'A', budget: 500 },
    { regime: 'B', budget: 1 },
    { regime: 'C', beta: 0.2 },
  ],
  attack: { epochs: 10, step: 20, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'twolayer', width: 100, epochs: 5, lr: 0.1, batchSize: 64 },
  training: { lr: 0.1, batchSize: 64, maxEpochs: 8, patience: 3, momentum: 0, weightDecay: 0 },
  folds: { k: 5, run: [0] },
  repetitions: 1,
  seed: 0,
};

/** The overall budgets C (S = C sqrt(n)) of the original's sample-size experiment; C = 0 is the clean run. */
export const SAMPLESIZE_BUDGETS = [50, 100, 200, 300, 400, 500];

/**
 * The original's second experiment: regime A on MNIST, excess test loss and error (poisoned minus clean, same
 * seed) against the training-set size n = 500 .. 60,000, for C in {0, 50, ..., 500}. Here on the theory's
 * two-layer net (width 1000) and the even/odd MNIST task, trained on all n samples (no validation split) for
 * 10 epochs of batch 64; the poison of each (C, n, repetition) is made on the first n samples against a
 * width-100 two-layer surrogate. Long: see samplesize-quick.
 */
export const samplesizeMnist = {
  name: 'samplesize-mnist',
  dataset: 'mnist',
  classes: 'even-odd',
  testLimit: 10000,
  model: 'twolayer',
  widths: [1000],
  sizes: [500, 1000, 2000, 5000, 10000, 20000, 60000],
  regimes: [{ regime: 'clean' }, ...SAMPLESIZE_BUDGETS.map((budget) => ({ regime: 'A', budget }))],
  attack: { epochs: 50, step: 5, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'twolayer', width: 100, epochs: 5, lr: 0.1, batchSize: 64 },
  training: { lr: 0.1, batchSize: 64, maxEpochs: 10, momentum: 0, weightDecay: 0 },
  repetitions: 5,
  seed: 0,
};

/** samplesize-mnist scaled to a few minutes on 2 cores: n = 500 .. 5,000, 2,000 test images, 1 repetition. */
export const samplesizeQuick = {
  ...samplesizeMnist,
  name: 'samplesize-quick',
  limit: 5000,
  testLimit: 2000,
  sizes: [500, 1000, 2000, 5000],
  attack: { epochs: 10, step: 20, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'twolayer', width: 100, epochs: 3, lr: 0.1, batchSize: 64 },
  training: { ...samplesizeMnist.training, maxEpochs: 5 },
  repetitions: 1,
};

/** The theory presets by name. */
export const THEORY_PRESETS: Record<string, unknown> = {
  'theory-toy': theoryToy,
  'theory-toy-original': theoryToyOriginal,
  'theory-mnist': theoryMnist,
  'samplesize-mnist': samplesizeMnist,
  'samplesize-quick': samplesizeQuick,
};
