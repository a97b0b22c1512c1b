/** ISS (image shortcut squeezing): the JPEG round trip and grayscale transforms of the training set. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.js';
import {
  createDefence,
  getDefenceEntry,
  grayscaleSqueeze,
  jpegSqueeze,
  listDefences,
} from '../../src/defences/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice } from '../attacks/fixtures.js';

const data = mnistSlice(100);

function meanAbs(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += Math.abs(a[j]! - b[j]!);
  return s / a.length;
}

test('iss is registered with its parameters', () => {
  assert.ok(listDefences().some((d) => d.name === 'iss'));
  assert.equal(getDefenceEntry('image-shortcut-squeezing').name, 'iss');
  assert.throws(() => createDefence('iss', { quality: 0 }), PoisonlabError);
  assert.throws(() => createDefence('iss', { method: 'blur' }), /method/);
});

test('ISS-J: a JPEG round trip keeps shape, labels and [0, 1], changes the images, and removes nothing', async () => {
  const out = await createDefence('iss', { quality: 10 }).apply({
    data,
    poisonMask: new Uint8Array(100).fill(1),
  });
  assert.deepEqual(out.dataset.sampleShape, [28, 28, 1]);
  assert.equal(out.dataset.x.length, data.x.length);
  assert.deepEqual(Array.from(out.dataset.y), Array.from(data.y));
  assert.ok(out.dataset.x.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(out.report.removed, []);
  assert.equal(out.report.precision, null);
  assert.equal(out.report.transformed, 100);
  assert.equal(out.transformInputs, undefined, 'the paper squeezes the training set only');
  // quality 100 stays close to the image, quality 10 less so; a digit is still a digit
  const fine = await jpegSqueeze(data, 100);
  const coarse = out.dataset;
  assert.ok(meanAbs(fine.x, data.x) < meanAbs(coarse.x, data.x));
  assert.ok(meanAbs(coarse.x, data.x) < 0.1);
  // deterministic
  const again = await jpegSqueeze(data, 10);
  assert.deepEqual(again.x, coarse.x);
});

test('ISS-G: luma on RGB images, identity on one channel', async () => {
  const rgb: Dataset = {
    name: 'rgb',
    x: Float32Array.from([1, 0, 0, 0, 1, 0]),
    y: Int32Array.from([0]),
    sampleShape: [1, 2, 3],
    classNames: ['a'],
  };
  const g = grayscaleSqueeze(rgb);
  assert.deepEqual(
    Array.from(g.x).map((v) => Number(v.toFixed(3))),
    [0.299, 0.299, 0.299, 0.587, 0.587, 0.587],
  );
  const out = await createDefence('iss', { method: 'grayscale' }).apply({ data });
  assert.deepEqual(out.dataset.x, data.x);
  assert.equal(out.report.transformed, 0);
  await assert.rejects(
    createDefence('iss').apply({ data: { ...data, sampleShape: [784] } }),
    /expected images/,
  );
});
