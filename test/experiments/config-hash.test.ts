/**
 * The paper's regimes keep their config hashes (so sweep folders made before the attack registry resume), and
 * their run and poison keys. The configs below are frozen copies of the presets `quick`, `paper-mnist` and
 * `theory-toy` as they stood before the registry (commit 6391268); the hashes were computed by that commit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configHash, parseConfig } from '../../src/config/schema.js';
import { planArms, planPoisons, planRuns } from '../../src/experiments/plan.js';

const QUICK = {
  name: 'quick',
  dataset: 'mnist',
  limit: 6000,
  testLimit: 2000,
  model: 'mnist-cnn',
  widths: [10, 50, 200, 1000, 5000, 20000],
  regimes: [
    { regime: 'clean' },
    { regime: 'A', budget: 500 },
    { regime: 'B', budget: 3 },
    { regime: 'C', beta: 0.2 },
  ],
  attack: { epochs: 10, step: 20, batchSize: 128, projectEvery: 'epoch' },
  surrogate: { model: 'mnist-cnn', width: 100, epochs: 3, lr: 0.1, batchSize: 128 },
  training: { lr: 0.1, batchSize: 128, maxEpochs: 6, patience: 2, momentum: 0, weightDecay: 0 },
  folds: { k: 5, run: [0] },
  repetitions: 2,
  seed: 0,
};

const PAPER_MNIST = {
  name: 'paper-mnist',
  dataset: 'mnist',
  model: 'mnist-cnn',
  widths: [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000],
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

const THEORY_TOY = {
  name: 'theory-toy',
  dataset: 'toy',
  model: 'twolayer',
  widths: [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000],
  regimes: [{ regime: 'clean' }, { regime: 'B', budget: 0.975, attack: 'shift' }, { regime: 'C', beta: 0.4 }],
  training: { lr: 0.1, batchSize: 1, maxEpochs: 1, momentum: 0, weightDecay: 0 },
  repetitions: 20,
  seed: 0,
  theory: { delta: 0.05, constant: 1 },
};

const BEFORE: [string, unknown, string][] = [
  ['quick', QUICK, '5161b9a6990a2a3da75c451730c4ae5c5a70a32c278676adf0627ba068cab8df'],
  ['paper-mnist', PAPER_MNIST, 'd1f9087d7e3878cd077de3bc63b5e7f350a0b1aab2d118ad20fcca7494cd8c9a'],
  ['theory-toy', THEORY_TOY, '179ef65bacc240f9a63b4f4ded9398c105464614b4b2a0d99c3ddd57f65bdcc9'],
];

for (const [name, raw, hash] of BEFORE) {
  test(`the config hash of ${name} is the one it had before the attack registry`, () => {
    assert.equal(configHash(parseConfig(structuredClone(raw), name)), hash);
  });
}

test('the regimes map to registry attacks and keep their run and poison keys', () => {
  const quick = parseConfig(structuredClone(QUICK));
  const arms = planArms(quick);
  assert.deepEqual(
    arms.map((a) => [a.label, a.attack?.name ?? null]),
    [
      ['clean', null],
      ['A-C500', 'l21-perturbation'],
      ['B-B3', 'per-sample-perturbation'],
      ['C-beta0.2', 'label-flip'],
    ],
  );
  assert.deepEqual(arms[1]!.attack!.params, {
    budget: 500,
    epochs: 10,
    step: 20,
    batchSize: 128,
    projectEvery: 'epoch',
  });
  const runs = planRuns(quick);
  assert.equal(runs.length, 4 * 2 * 6);
  assert.equal(runs[0]!.key, 'clean/w10/r0/f0');
  assert.ok(runs.some((r) => r.key === 'A-C500/w20000/r1/f0' && r.poisonKey === 'A-C500-r1'));
  assert.deepEqual(
    planPoisons(quick, runs).map((p) => p.key),
    ['A-C500-r0', 'A-C500-r1', 'B-B3-r0', 'B-B3-r1', 'C-beta0.2-r0', 'C-beta0.2-r1'],
  );
  const toy = planArms(parseConfig(structuredClone(THEORY_TOY)));
  assert.deepEqual(toy[1]!.attack, { name: 'shift', params: { budget: 0.975 } });
});
