/**
 * laptop-cifar10 through the real CLI on a tiny cut (--limit, --widths, --max-epochs 1, one repetition, one attack
 * epoch): the stated surrogate recipe is made first (here cut to one epoch on 64 images and written where
 * `recipe:cifar10-alexnet` is looked for, in a temporary cache), then the sweep and its report, which names the
 * CIFAR-10 copy it read. Needs CIFAR-10 (the official binaries or ../shared/data/cifar10-jpeg); skipped without.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getSurrogateRecipe, recipePath } from '../../src/attacks/surrogate-recipes.js';
import { cifar10Source } from '../../src/data/load.js';
import { getPreset } from '../../src/experiments/presets.js';
import { readNpz } from '../../src/io/npz.js';
import { CLI_MAIN, nodeArgs } from './fixtures/paths.js';

test('laptop-cifar10 settings: the original network, rule, normalisation and attack view', () => {
  const c = getPreset('laptop-cifar10');
  assert.equal(c.model, 'cifar-cnn');
  assert.equal(c.normalize, true);
  assert.deepEqual(
    [c.training.lr, c.training.batchSize, c.training.patience, c.training.maxEpochs, c.training.momentum],
    [0.01, 128, 30, 1000, 0],
  );
  assert.equal(c.attack?.surrogateMode, 'train');
  assert.equal(c.attack?.surrogateInput, undefined, 'raw x + delta, as the original');
  assert.equal(c.surrogate?.path, 'recipe:cifar10-alexnet');
  assert.equal(c.poison, 'shared', 'one poison per budget for every repetition');
  assert.deepEqual(
    c.regimes.map((r) => r.budget ?? r.beta ?? null),
    [null, 1000, 1, 0.3],
  );
  const paper = getPreset('paper-cifar10');
  assert.equal(paper.normalize, true);
  assert.equal(getPreset('paper-mnist').normalize, undefined, 'MNIST: no normalisation');
});

test('laptop-cifar10 smoke test through the CLI: recipe surrogate, sweep, report naming the data source', (t) => {
  const source = cifar10Source();
  if (!source) {
    t.skip('CIFAR-10 not found');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-cifar-smoke-'));
  const env = { ...process.env, POISONLAB_CACHE: join(dir, 'cache'), POISONLAB_THREADS: '1' };
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, nodeArgs(CLI_MAIN, ...args), { encoding: 'utf8', env, timeout: 600_000 });
  try {
    // Where the sweep's `recipe:cifar10-alexnet` resolves to in this cache (the recipe's hash, with this source).
    const saved = process.env.POISONLAB_CACHE;
    process.env.POISONLAB_CACHE = env.POISONLAB_CACHE;
    const file = recipePath('cifar10-alexnet', getSurrogateRecipe('cifar10-alexnet'));
    if (saved === undefined) delete process.env.POISONLAB_CACHE;
    else process.env.POISONLAB_CACHE = saved;

    const missing = cli('sweep', '--preset', 'laptop-cifar10', '--limit', '100', '--out', join(dir, 'x'));
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /^poisonlab: surrogate\.path recipe:cifar10-alexnet: not made yet .*surrogate train --preset cifar10-alexnet/m,
    );

    const s = cli(
      'surrogate',
      'train',
      '--preset',
      'cifar10-alexnet',
      '--epochs',
      '1',
      '--limit',
      '64',
      '--test-limit',
      '50',
      '--out',
      file,
      '--json',
    );
    assert.equal(s.status, 0, s.stderr);
    const meta = JSON.parse(s.stdout);
    assert.deepEqual(
      [meta.model, meta.lr, meta.lrDecay, meta.momentum],
      ['alexnet', 0.1, { every: 20, factor: 0.5 }, 0],
    );
    assert.deepEqual(meta.normalize.mean, [0.4914, 0.4822, 0.4465]);
    assert.equal(meta.dataSource, source.description);
    const again = cli(
      'surrogate',
      'train',
      '--preset',
      'cifar10-alexnet',
      '--epochs',
      '1',
      '--limit',
      '64',
      '--test-limit',
      '50',
      '--out',
      file,
      '--json',
    );
    assert.equal(JSON.parse(again.stdout).cached, true, 'made once');

    const out = join(dir, 'sweep');
    const sweep = cli(
      'sweep',
      '--preset',
      'laptop-cifar10',
      '--limit',
      '100',
      '--test-limit',
      '50',
      '--widths',
      '10,20',
      '--max-epochs',
      '1',
      '--reps',
      '1',
      '--attack-epochs',
      '1',
      '--workers',
      '1',
      '--out',
      out,
      '--json',
    );
    assert.equal(sweep.status, 0, sweep.stderr);
    const summary = JSON.parse(sweep.stdout);
    assert.equal(summary.failed, 0, JSON.stringify(summary.failures));
    assert.equal(summary.done, 4 * 2);
    const poison = readNpz(join(out, 'poisons', 'B-B1-shared.npz'));
    const report = (poison.meta as { report: { params: Record<string, unknown> } }).report;
    assert.equal(report.params['surrogateMode'], 'train');
    assert.equal(report.params['surrogateInput'], 'raw');

    const r = cli('report', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    assert.ok(md.includes(`Data source: ${source.description}.`), md.slice(0, 600));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
