import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash, parseConfig, regimeLabel } from '../../src/config/schema.js';
import { getPreset } from '../../src/experiments/presets.js';
import { SweepStore } from '../../src/results/index.js';
import { cli } from '../cli/run.js';

test('theory-toy-original carries the settings of toy_gaussian_ntk.py', () => {
  const c = getPreset('theory-toy-original');
  assert.equal(c.dataset, 'toy');
  assert.equal(c.model, 'toy-ntk');
  assert.deepEqual(c.regimes.map(regimeLabel), ['clean', 'B-shift0.975', 'C-beta0.4']);
  assert.deepEqual(c.training, {
    lr: 0.1,
    batchSize: 1,
    maxEpochs: 1,
    momentum: 0,
    weightDecay: 0,
    loss: 'bce-onehot',
    keepBest: { by: 'loss', every: 'step' },
  });
  assert.deepEqual(c.folds, { k: 5, run: [0, 1, 2, 3, 4] });
  assert.equal(c.repetitions, 100);
  assert.deepEqual(c.widths, getPreset('theory-toy').widths);
});

test('keepBest needs a validation fold; a bad loss names its field', () => {
  const raw = { ...getPreset('theory-toy-original') } as Record<string, unknown>;
  assert.throws(
    () => parseConfig({ ...raw, folds: undefined }, 'preset'),
    /^PoisonlabError: preset: training\.keepBest: keepBest needs a validation fold/,
  );
  assert.throws(
    () => parseConfig({ ...raw, training: { ...(raw['training'] as object), loss: 'hinge' } }, 'preset'),
    /training\.loss: /,
  );
  // The new options are absent from the older presets, so their hashes (frozen in config-hash.test.ts) stay.
  const toy = getPreset('theory-toy');
  assert.equal(toy.training.loss, undefined);
  assert.equal(toy.training.keepBest, undefined);
  assert.notEqual(configHash(getPreset('theory-toy-original')), configHash(toy));
});

test('poisonlab sweep --preset theory-toy-original on a tiny cut, then report, through the real CLI', {
  timeout: 240_000,
}, () => {
  const out = join(mkdtempSync(join(tmpdir(), 'poisonlab-toy-original-')), 'sweep');
  const run = cli(
    [
      'sweep',
      '--preset',
      'theory-toy-original',
      '--out',
      out,
      '--widths',
      '10,200',
      '--reps',
      '2',
      '--folds',
      '0,1',
    ],
    { timeout: 200_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  // 3 regimes x 2 widths x 2 repetitions x 2 folds
  assert.match(run.stdout, /24 run\(s\) done, 0 already done, 0 failed, of 24/);
  assert.match(run.stdout, /B-shift0\.975 m=200 /);
  assert.ok(existsSync(join(out, 'poisons', 'B-shift0.975-r0.npz')));
  assert.ok(!existsSync(join(out, 'surrogate.npz')), 'the shift and the flips need no surrogate');
  const store = SweepStore.open(join(out, 'runs.sqlite'), { readonly: true });
  try {
    const runs = store.runs();
    assert.equal(runs.length, 24);
    for (const r of runs) {
      assert.equal(r.epochs, 1, 'one online pass');
      assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
      assert.ok(
        r.bestValAccuracy !== null && r.bestValAccuracy >= 0,
        'kept weights have a validation accuracy',
      );
    }
    const clean = runs.filter((r) => r.label === 'clean' && r.width === 200);
    assert.ok(
      clean.every((r) => r.testAccuracy > 0.95),
      'the clean toy is separable',
    );
  } finally {
    store.close();
  }
  const report = cli(['report', out]);
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, /interior maximum per regime/);
  assert.ok(existsSync(join(out, 'summary.md')));
  assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /theory-toy-original/);
});
