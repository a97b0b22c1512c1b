import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpz } from '../../src/io/npz.js';
import { SweepStore } from '../../src/results/index.js';
import { CLI_MAIN, nodeArgs } from './fixtures/paths.js';

/** A real sweep on a tiny MNIST slice: surrogate, regime A and C poisons, 2 widths, through the CLI. */
const CONFIG = {
  name: 'e2e',
  dataset: 'mnist',
  limit: 1000,
  testLimit: 200,
  model: 'mnist-cnn',
  widths: [10, 50],
  regimes: [{ regime: 'clean' }, { regime: 'A', budget: 500 }, { regime: 'C', beta: 0.2 }],
  attack: { epochs: 1, step: 0.1, batchSize: 128 },
  // the surrogate trains on more images than the sweep (surrogate.limit) and is measured on the whole test set
  surrogate: { model: 'mnist-cnn', width: 100, limit: 2000, epochs: 1, lr: 0.1, batchSize: 64 },
  training: { lr: 0.1, batchSize: 32, maxEpochs: 3, patience: 2 },
  folds: { k: 5, run: [0] },
  repetitions: 1,
};

function cli(...args: string[]) {
  return spawnSync(process.execPath, nodeArgs(CLI_MAIN, ...args), { encoding: 'utf8', timeout: 240_000 });
}

test('poisonlab sweep + report on a tiny MNIST slice, end to end', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-e2e-'));
  const configPath = join(dir, 'sweep.json');
  const out = join(dir, 'sweep');
  writeFileSync(configPath, JSON.stringify(CONFIG));
  const run = cli('sweep', '--config', configPath, '--out', out, '--workers', '2', '--json');
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.deepEqual([summary.runs, summary.done, summary.failed], [6, 6, 0]);
  assert.equal(summary.cells.length, 6);
  for (const c of summary.cells) assert.ok(c.mean >= 0 && c.mean <= 1);
  const clean = summary.cells.filter((c: { label: string }) => c.label === 'clean');
  assert.ok(
    clean.some((c: { mean: number }) => c.mean > 0.2),
    'a clean run learns (chance is 0.1)',
  );
  assert.ok(existsSync(join(out, 'surrogate.npz')));
  const surrogate = (readNpz(join(out, 'surrogate.npz')).meta as { surrogate: Record<string, number> })
    .surrogate;
  assert.deepEqual([surrogate['trainSamples'], surrogate['testSamples']], [2000, 10000]);
  // Every run's per-epoch history is in the store: train, validation and test metrics of each epoch it ran.
  const store = SweepStore.open(join(out, 'runs.sqlite'), { readonly: true });
  try {
    const runs = store.runs();
    assert.equal(runs.length, 6);
    for (const run of runs) {
      const epochs = store.epochs(run.configHash, run.runKey);
      assert.equal(epochs.length, run.epochs, run.runKey);
      const best = epochs[run.bestEpoch - 1]!;
      assert.ok(
        [best.trainLoss, best.trainAccuracy, best.valLoss, best.testLoss].every((v) => v !== null && v > 0),
        run.runKey,
      );
      assert.equal(best.valAccuracy, run.bestValAccuracy, `${run.runKey}: best epoch's validation accuracy`);
      assert.ok(
        Math.abs(best.testAccuracy! - run.testAccuracy) < 1e-6,
        `${run.runKey}: best epoch's test accuracy`,
      );
    }
  } finally {
    store.close();
  }
  // The regime A poison is a perturbation of the images within the l2,1 budget C sqrt(n); labels unchanged.
  const poisonA = readNpz(join(out, 'poisons', 'A-C500-r0.npz'));
  const dn = poisonA.arrays['delta_norm']!.data as Float32Array;
  const sum = dn.reduce((a, b) => a + b, 0);
  assert.ok(sum > 0 && sum <= 500 * Math.sqrt(1000) * (1 + 1e-4), `sum ||delta|| = ${sum}`);
  const poisonC = readNpz(join(out, 'poisons', 'C-beta0.2-r0.npz'));
  assert.equal(poisonC.arrays['y']!.data.length, 1000);

  const again = cli('sweep', '--config', configPath, '--out', out, '--json');
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual([JSON.parse(again.stdout).done, JSON.parse(again.stdout).skipped], [0, 6]);

  const report = cli('report', out, '--json');
  assert.equal(report.status, 0, report.stderr);
  const r = JSON.parse(report.stdout);
  assert.equal(r.runs, 6);
  // one verdict line per poisoned regime, with the paper's figure at these widths; the poisons' budget spent
  assert.equal(r.verdicts.length, 2);
  assert.match(r.verdicts[0], /^A-C500: .*paper's figure \(read by eye\): 76\.4 \/ 81\.8 % at m = 10 \/ 50/);
  const a = r.poisons.find((p: { label: string }) => p.label === 'A-C500');
  assert.ok(a.budgetSpent.mean > 0 && a.budgetSpent.mean <= 1, JSON.stringify(a));
  assert.match(
    readFileSync(join(out, 'summary.md'), 'utf8'),
    /## Interior maximum per regime[\s\S]*## Poisons/,
  );
  assert.equal(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').length, 7);
  for (const f of ['summary.md', 'ucurve.svg', 'ucurve.png', 'report.html'])
    assert.ok(existsSync(join(out, f)), f);

  const other = cli('sweep', '--preset', 'quick', '--out', out);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /^poisonlab: .*runs\.sqlite: this folder holds a sweep with another config/m);
  assert.equal(other.stderr.trim().split('\n').at(-1)!.startsWith('poisonlab: '), true);
});
