import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseShard, planPoisons, planRuns, selectShard, shardOf } from '../../src/experiments/plan.js';
import { getPreset } from '../../src/experiments/presets.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { smallConfig } from './fixtures/small-config.js';

test('the planner enumerates every (regime, width, repetition, fold) once, with stable keys', () => {
  const c = smallConfig({ folds: { k: 5, run: [0, 3] } });
  const runs = planRuns(c);
  assert.equal(runs.length, 3 * 3 * 2 * 2);
  assert.equal(new Set(runs.map((r) => r.key)).size, runs.length);
  const r = runs.find((x) => x.key === 'A-C500/w100/r1/f3');
  assert.ok(r);
  assert.deepEqual(
    { width: r.width, repetition: r.repetition, fold: r.fold, seed: r.seed, poison: r.poisonKey },
    { width: 100, repetition: 1, fold: 3, seed: 1, poison: 'A-C500-r1' },
  );
  assert.equal(runs.find((x) => x.label === 'clean')!.poisonKey, undefined);
  assert.deepEqual(
    planRuns(c).map((x) => x.key),
    runs.map((x) => x.key),
  );
  // The paper's MNIST protocol: 4 regimes x 14 widths x 20 repetitions x 5 folds.
  assert.equal(planRuns(getPreset('paper-mnist')).length, 4 * 14 * 20 * 5);
});

test('poisons: one per poisoned (regime, repetition), shared by its widths and folds', () => {
  const c = smallConfig({ folds: { k: 5, run: [0, 1] } });
  const poisons = planPoisons(c, planRuns(c));
  assert.deepEqual(
    poisons.map((p) => p.key),
    ['A-C500-r0', 'A-C500-r1', 'C-beta0.2-r0', 'C-beta0.2-r1'],
  );
  assert.deepEqual(
    poisons.map((p) => p.seed),
    [0, 1, 0, 1],
  );
});

test('shards partition the run list deterministically by run key', () => {
  const runs = planRuns(getPreset('paper-mnist'));
  for (const n of [1, 3, 7]) {
    const parts = Array.from({ length: n }, (_, i) => selectShard(runs, { index: i, count: n }));
    const keys = parts.flatMap((p) => p.map((r) => r.key));
    assert.equal(keys.length, runs.length, `shards of ${n} cover every run once`);
    assert.equal(new Set(keys).size, runs.length);
    for (const p of parts) assert.ok(p.length > (runs.length / n) * 0.8, 'shards are roughly balanced');
  }
  // Independent of the list's order: a run lands in the same shard in a reversed list.
  const reversed = selectShard([...runs].reverse(), { index: 2, count: 7 }).map((r) => r.key);
  assert.deepEqual(
    reversed.sort(),
    selectShard(runs, { index: 2, count: 7 })
      .map((r) => r.key)
      .sort(),
  );
  assert.equal(shardOf('clean/w10/r0/f0', 4), shardOf('clean/w10/r0/f0', 4));
  assert.deepEqual(parseShard('1/4'), { index: 1, count: 4 });
  for (const bad of ['4/4', '1', 'a/b', '1/0'])
    assert.throws(
      () => parseShard(bad),
      (e: Error) => e instanceof PoisonlabError && /--shard: expected i\/N/.test(e.message),
    );
});
