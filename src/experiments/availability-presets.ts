/**
 * Availability presets (issue 21): width sweeps of the model-free and optimised availability poisons, each also
 * behind image shortcut squeezing (JPEG) and adversarial training.
 *
 * `availability-mnist-quick` is a cut to about an hour on 2 cores (docs/attacks.md has the cost per piece): a
 * slice of MNIST (`limit`: the first 2,000 training images; the first 1,000 test images), the paper's CNN at widths
 * 10 .. 2e4, 8 repetitions (each with its own poison, seeded by the repetition; 3 ran in 12.5 minutes, so 8 fit the
 * hour, and 3 left most width trends undecided), 6 epochs of batch-32 SGD on the
 * whole (poisoned, then defended) slice without a validation fold, as `backdoor-mnist-quick`. The attacks at their
 * MNIST defaults except where cost says otherwise: error-minimising noise class-wise (eps 0.1, at most 10 rounds:
 * the sample-wise search costs more and did less here), TAP (eps 0.1, 100 PGD steps instead of 250) against a
 * 3-epoch width-100 surrogate, AR (l2 eps 1, the paper's) and OPS. The defences: ISS-J (JPEG quality 10, the
 * paper's) and adversarial training at eps 0.1 (matched to EM and TAP; 3 PGD steps per minibatch to keep it
 * affordable, Madry's step 2.5 eps / steps). On this slice a poison's effect is the drop from the clean arm at the
 * same width; the numbers are not comparable with full-MNIST results.
 */
export const AVAILABILITY_PRESETS: Record<string, unknown> = {
  'availability-mnist-quick': {
    name: 'availability-mnist-quick',
    dataset: 'mnist',
    limit: 2000,
    testLimit: 1000,
    model: 'mnist-cnn',
    widths: [10, 100, 1000, 20000],
    regimes: [{ regime: 'clean' }],
    attacks: [
      { name: 'error-minimizing', params: { scope: 'class', eps: 0.1, maxRounds: 10 }, label: 'em-class' },
      { name: 'adversarial-poisoning', params: { eps: 0.1, steps: 100 }, label: 'tap' },
      { name: 'autoregressive', params: { eps: 1, norm: 'l2' }, label: 'ar' },
      { name: 'one-pixel-shortcut', label: 'ops' },
    ],
    defences: [
      { name: 'iss', params: { method: 'jpeg', quality: 10 } },
      { name: 'adversarial-training', params: { eps: 0.1, steps: 3 } },
    ],
    surrogate: { model: 'mnist-cnn', width: 100, epochs: 3, lr: 0.1, batchSize: 32 },
    training: { lr: 0.1, batchSize: 32, maxEpochs: 6, momentum: 0, weightDecay: 0 },
    repetitions: 8,
    seed: 0,
  },
};
