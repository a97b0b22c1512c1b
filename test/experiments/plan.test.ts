import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import {
  foldSeed,
  parseShard,
  planPoisons,
  planRuns,
  poisonSeed,
  selectRuns,
  selectShard,
  shardOf,
} from '../../src/experiments/plan.js';
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

test("poison: shared makes one poison per attack with the base seed for every repetition (the figure's protocol)", () => {
  const c = smallConfig({ folds: { k: 5, run: [0, 1] }, poison: 'shared', seed: 4 });
  const runs = planRuns(c);
  const poisons = planPoisons(c, runs);
  assert.deepEqual(
    poisons.map((p) => [p.key, p.seed]),
    [
      ['A-C500-shared', 4],
      ['C-beta0.2-shared', 4],
    ],
  );
  const a = runs.filter((r) => r.label === 'A-C500');
  assert.deepEqual(new Set(a.map((r) => r.poisonKey)), new Set(['A-C500-shared']));
  // the runs keep their own seeds (initialisation, minibatch order) and keys
  assert.deepEqual(new Set(a.map((r) => r.seed)), new Set([4, 5]));
  // but evaluate the attack as its poison was made (a backdoor's trigger, a targeted attack's targets)
  assert.deepEqual(new Set(a.map((r) => poisonSeed(c, r.repetition))), new Set([4]));
  const ownPoisons = smallConfig({ folds: { k: 5, run: [0, 1] }, seed: 4 });
  const own = planRuns(ownPoisons).filter((r) => r.poisonKey);
  assert.ok(own.every((r) => poisonSeed(ownPoisons, r.repetition) === r.seed));
  assert.deepEqual(
    runs.map((r) => r.key),
    planRuns(smallConfig({ folds: { k: 5, run: [0, 1] }, seed: 4 })).map((r) => r.key),
  );
  // 'per-repetition' says today's default out loud; absent keeps the hash of configs written before the option
  const perRep = smallConfig({ poison: 'per-repetition' });
  assert.deepEqual(
    planPoisons(perRep, planRuns(perRep)).map((p) => p.key),
    ['A-C500-r0', 'A-C500-r1', 'C-beta0.2-r0', 'C-beta0.2-r1'],
  );
  assert.notEqual(configHash(perRep), configHash(smallConfig()));
  assert.equal(configHash(smallConfig({ poison: undefined })), configHash(smallConfig()));
});

test('folds.fixed: every repetition splits with the base seed; without it each with its own', () => {
  const fixed = smallConfig({ folds: { k: 5, run: [0], fixed: true }, seed: 2 });
  const own = smallConfig({ folds: { k: 5, run: [0] }, seed: 2 });
  assert.deepEqual(
    planRuns(fixed)
      .map((r) => foldSeed(fixed, r))
      .filter((v, i, a) => a.indexOf(v) === i),
    [2],
  );
  assert.deepEqual(new Set(planRuns(own).map((r) => foldSeed(own, r))), new Set([2, 3]));
  assert.throws(() => smallConfig({ folds: { k: 5, run: [0], fixed: false } }), /fixed/);
});

test('paper-mnist-figure: the figure-era protocol (shared poisons, 1,000-epoch A, raw-step B, patience 100, fixed folds)', () => {
  const c = getPreset('paper-mnist-figure');
  assert.equal(c.poison, 'shared');
  assert.equal(c.folds?.fixed, true);
  assert.equal(c.training.patience, 100);
  const poisons = planPoisons(c, planRuns(c));
  assert.deepEqual(
    poisons.map((p) => p.key),
    ['C-beta0.3-shared', 'A-C500-shared', 'B-B1-shared'],
  );
  const b = c.attacks!.find((a) => a.label === 'B-B1')!;
  assert.deepEqual(b.params, { budget: 1, epochs: 500, step: 0.5, batchSize: 128, stepRule: 'raw' });
  assert.equal(planRuns(c).length, 4 * 14 * 20 * 5);
});

test('--runs: globs over run keys choose a part of a sweep; a pattern matching nothing is a one-line error', () => {
  const runs = planRuns(smallConfig());
  const keys = (p: string) => selectRuns(runs, p).map((r) => r.key);
  assert.deepEqual(keys('A-C500/w10/r0/f0'), ['A-C500/w10/r0/f0']);
  assert.deepEqual(keys('A-C500/w10/*'), ['A-C500/w10/r0/f0', 'A-C500/w10/r1/f0']);
  // several patterns, spaces, and '.' taken literally (w1000 is not matched by 'w1.00')
  assert.equal(selectRuns(runs, ' clean/*, C-*/w1000/* ').length, 6 + 2);
  assert.throws(
    () => selectRuns(runs, 'A-C500/w1.00/*'),
    /--runs: 'A-C500\/w1\.00\/\*' matches no run of this sweep \(its keys look like clean\/w10\/r0\/f0/,
  );
  assert.throws(() => selectRuns(runs, ' , '), /--runs: expected comma-separated patterns/);
  assert.equal(selectRuns(runs, undefined).length, runs.length);
});
