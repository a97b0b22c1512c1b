import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import { shuffle, stratifiedKFold, trainValSplit } from '../../src/data/split.js';
import { PoisonlabError } from '../../src/util/errors.js';

/** Unbalanced labels: class c has 10 + 7c samples, in a scrambled order. */
function labels(): Int32Array {
  const y: number[] = [];
  for (let c = 0; c < 4; c++) for (let j = 0; j < 10 + 7 * c; j++) y.push(c);
  return Int32Array.from(y.map((_, i) => y[(i * 37) % y.length]!));
}

function toy(y: Int32Array): Dataset {
  const x = Float32Array.from(y, (_, i) => i); // x identifies the original sample
  return { name: 't', x, y, sampleShape: [1], classNames: ['a', 'b', 'c', 'd'] };
}

test('stratifiedKFold: disjoint, covers all, class counts within 1 across folds', () => {
  const y = labels();
  for (const k of [2, 3, 5]) {
    const folds = stratifiedKFold(y, k, 7);
    assert.equal(folds.length, k);
    const seen = new Uint8Array(y.length);
    for (const f of folds) for (const i of f) seen[i]!++;
    assert.ok(
      seen.every((s) => s === 1),
      'every sample in exactly one fold',
    );
    for (let c = 0; c < 4; c++) {
      const counts = folds.map((f) => Array.from(f).filter((i) => y[i] === c).length);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `class ${c} counts ${counts}`);
    }
    const sizes = folds.map((f) => f.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  }
});

test('stratifiedKFold: deterministic per seed, different across seeds', () => {
  const y = labels();
  assert.deepEqual(stratifiedKFold(y, 5, 1), stratifiedKFold(y, 5, 1));
  assert.notDeepEqual(stratifiedKFold(y, 5, 1), stratifiedKFold(y, 5, 2));
});

test('stratifiedKFold: rejects bad k with a one-line error', () => {
  assert.throws(() => stratifiedKFold(labels(), 1, 0), /number of folds: expected >= 2/);
  assert.throws(() => stratifiedKFold(Int32Array.of(0, 1), 3, 0), /at most the 2 samples/);
});

test('trainValSplit: validation is the held-out fold, train is the rest', () => {
  const ds = toy(labels());
  const folds = stratifiedKFold(ds.y, 5, 3);
  const { train, val } = trainValSplit(ds, { folds: 5, fold: 2, seed: 3 });
  assert.deepEqual(Array.from(val.x), Array.from(folds[2]!));
  assert.equal(train.y.length + val.y.length, ds.y.length);
  const valSet = new Set(val.x);
  for (const v of train.x) assert.ok(!valSet.has(v));
  for (let i = 0; i < train.y.length; i++) assert.equal(train.y[i], ds.y[train.x[i]!]);
  assert.throws(() => trainValSplit(ds, { folds: 5, fold: 5, seed: 0 }), PoisonlabError);
});

test('shuffle: a seeded permutation of the samples, labels kept with their samples', () => {
  const ds = toy(labels());
  const a = shuffle(ds, 11);
  assert.deepEqual(a, shuffle(ds, 11));
  assert.notDeepEqual(Array.from(a.x), Array.from(ds.x));
  assert.deepEqual(
    Array.from(a.x).sort((p, q) => p - q),
    Array.from(ds.x),
  );
  for (let i = 0; i < a.y.length; i++) assert.equal(a.y[i], ds.y[a.x[i]!]);
});
