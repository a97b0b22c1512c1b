import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryTask } from '../../src/data/binary-task.js';
import type { Dataset } from '../../src/data/dataset.js';
import { gaussianToy, gaussianToySplit } from '../../src/data/toy.js';

test('gaussianToy: 2-D unit vectors, balanced, class 1 on the +x side', () => {
  const ds = gaussianToy({ n: 1000, seed: 4 });
  assert.deepEqual(ds.sampleShape, [2]);
  assert.equal(ds.y.length, 1000);
  assert.equal(
    ds.y.reduce((a, b) => a + b, 0),
    500,
  );
  let agree = 0;
  for (let i = 0; i < 1000; i++) {
    const [a, b] = [ds.x[2 * i]!, ds.x[2 * i + 1]!];
    assert.ok(Math.abs(Math.hypot(a, b) - 1) < 1e-6, `point ${i} has norm ${Math.hypot(a, b)}`);
    if ((a > 0 ? 1 : 0) === ds.y[i]) agree++;
  }
  // With centres at +-5 and unit variance, P(wrong side) = Phi(-5) ~ 3e-7.
  assert.equal(agree, 1000);
  assert.deepEqual(gaussianToy({ n: 50, seed: 4 }), gaussianToy({ n: 50, seed: 4 }));
  assert.notDeepEqual(gaussianToy({ n: 50, seed: 4 }).x, gaussianToy({ n: 50, seed: 5 }).x);
});

test('gaussianToy: a small centre mixes the classes', () => {
  const ds = gaussianToy({ n: 2000, seed: 1, center: 0 });
  let agree = 0;
  for (let i = 0; i < 2000; i++) if ((ds.x[2 * i]! > 0 ? 1 : 0) === ds.y[i]) agree++;
  assert.ok(agree > 800 && agree < 1200, `${agree} of 2000 on their class's side with centre 0`);
});

test('gaussianToySplit: 1000 train and 200 test by default, different points', () => {
  const { train, test: testSet } = gaussianToySplit();
  assert.equal(train.y.length, 1000);
  assert.equal(testSet.y.length, 200);
  assert.notDeepEqual(train.x.slice(0, 400), testSet.x);
});

const four: Dataset = {
  name: 'four',
  x: Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7),
  y: Int32Array.of(0, 1, 2, 3, 2, 1, 0, 3),
  sampleShape: [1],
  classNames: ['zero', 'one', 'two', 'three'],
};

test('binaryTask a,b: keeps the two classes, a -> 0 (-1), b -> 1 (+1)', () => {
  const t = binaryTask(four, '3,1');
  assert.deepEqual(Array.from(t.x), [1, 3, 5, 7]);
  assert.deepEqual(Array.from(t.y), [1, 0, 1, 0]);
  assert.deepEqual(t.classNames, ['three', 'one']);
  assert.deepEqual(binaryTask(four, 'three, one').y, t.y);
});

test('binaryTask even-odd: all samples, parity of the class', () => {
  const t = binaryTask(four, 'even-odd');
  assert.deepEqual(Array.from(t.y), [0, 1, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual(t.classNames, ['even', 'odd']);
  assert.equal(t.x.length, 8);
});

test('binaryTask: bad specs are one-line errors', () => {
  assert.throws(() => binaryTask(four, '1'), /expected 'a,b'/);
  assert.throws(() => binaryTask(four, '1,1'), /must differ/);
  assert.throws(
    () => binaryTask(four, '1,9'),
    /class '9' is neither a class name of four nor an index in 0..3/,
  );
  assert.throws(() => binaryTask(four, 'cat,one'), /class 'cat'/);
});
