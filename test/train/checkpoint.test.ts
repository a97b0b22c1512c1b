import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/backend/index.js';
import { readNpz, writeNpz } from '../../src/io/npz.js';
import { createModel } from '../../src/models/index.js';
import { loadCheckpoint, predictLogits, saveCheckpoint } from '../../src/train/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-ckpt-'));
before(async () => {
  await initBackend({ quiet: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function expectError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PoisonlabError, String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

describe('checkpoints', () => {
  it('round trip: same weights, same predictions, meta kept; numpy-style entries', () => {
    const model = createModel('cnn', { width: 30, inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
    const path = join(dir, 'mnist.npz');
    saveCheckpoint(path, model, { dataset: 'mnist', seed: 3, metrics: { testAccuracy: 0.5 } });
    const { test } = mnistSlice(1, 20);
    const before = predictLogits(model, test);
    const { model: loaded, meta } = loadCheckpoint(path);
    assert.deepEqual(predictLogits(loaded, test), before);
    assert.equal(meta.model.name, 'cnn');
    assert.equal(meta.model.options.width, 30);
    assert.equal(meta.dataset, 'mnist');
    assert.deepEqual(meta.metrics, { testAccuracy: 0.5 });
    const { arrays } = readNpz(path);
    assert.deepEqual(Object.keys(arrays).sort(), [
      'conv1.bias',
      'conv1.kernel',
      'conv2.bias',
      'conv2.kernel',
      'fc1.bias',
      'fc1.kernel',
      'fc2.bias',
      'fc2.kernel',
    ]);
    assert.deepEqual(arrays['fc1.kernel']!.shape, [320, 30]);
    assert.ok(arrays['fc1.kernel']!.data instanceof Float32Array);
    model.dispose();
    loaded.dispose();
  });

  it('keeps batch-norm running statistics and the twolayer fixed layer', () => {
    const model = createModel('twolayer', { width: 8, inputShape: [2], numClasses: 2, seed: 1 });
    const path = join(dir, 'two.npz');
    saveCheckpoint(path, model, {});
    const { model: loaded } = loadCheckpoint(path);
    assert.deepEqual(
      loaded.getWeights().map((t) => Array.from(t.dataSync())),
      model.getWeights().map((t) => Array.from(t.dataSync())),
    );
    assert.equal(loaded.trainableWeights.length, 1);
    model.dispose();
    loaded.dispose();
  });

  it('a truncated or corrupt file, a missing weight and a shape mismatch are one-line errors naming the file', () => {
    const model = createModel('mnist-cnn', { width: 4, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    const path = join(dir, 'good.npz');
    saveCheckpoint(path, model, {});
    const bytes = readFileSync(path);
    const truncated = join(dir, 'truncated.npz');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectError(() => loadCheckpoint(truncated), /truncated\.npz/);
    const garbage = join(dir, 'garbage.npz');
    writeFileSync(garbage, 'not a zip at all');
    expectError(() => loadCheckpoint(garbage), /garbage\.npz/);
    expectError(
      () => loadCheckpoint(join(dir, 'absent.npz')),
      /absent\.npz: expected a \.npz file, found nothing there \(ENOENT\)/,
    );

    const { arrays, meta } = readNpz(path);
    const missing = join(dir, 'missing.npz');
    const { 'fc2.bias': _, ...rest } = arrays;
    writeNpz(missing, rest, meta as object);
    expectError(
      () => loadCheckpoint(missing),
      /missing\.npz: weight 'fc2\.bias' is missing, expected .*\[10\]/,
    );

    const wrong = join(dir, 'wrong.npz');
    writeNpz(
      wrong,
      { ...arrays, 'fc1.kernel': { data: new Float32Array(320 * 5), shape: [320, 5] } },
      meta as object,
    );
    expectError(
      () => loadCheckpoint(wrong),
      /wrong\.npz: weight 'fc1\.kernel' has shape \[320, 5\], expected \[320, 4\]/,
    );

    const nometa = join(dir, 'nometa.npz');
    writeNpz(nometa, arrays);
    expectError(() => loadCheckpoint(nometa), /nometa\.npz: not a poisonlab checkpoint/);
    model.dispose();
  });
});
