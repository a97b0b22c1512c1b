import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CIFAR10_CLASSES } from '../../src/data/builtin.js';
import { loadCifarBinaryDir, parseCifarRecords } from '../../src/data/cifar-binary.js';
import { loadDataset } from '../../src/data/load.js';
import { cifarRecords, writeCifarBinaryDir } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-cifarbin-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('CIFAR records: label byte, then CHW planes converted to HWC in [0, 1]', () => {
  const { x, y } = parseCifarRecords(cifarRecords(3), 'syn');
  assert.deepEqual(Array.from(y), [0, 1, 2]);
  assert.equal(x.length, 3 * 3072);
  // Sample 2, row 1, column 5 (pixel p = 37), channel c -> HWC index (p * 3 + c).
  for (let c = 0; c < 3; c++)
    assert.equal(x[2 * 3072 + 37 * 3 + c], Math.fround(((2 + c * 7 + 37) % 256) / 255));
});

test('CIFAR records: size and label checks are one-line errors', () => {
  assert.throws(
    () => parseCifarRecords(new Uint8Array(3073 * 2 + 5), 'bad.bin'),
    /bad\.bin: 6151 bytes is not a multiple of the 3073-byte CIFAR-10 record/,
  );
  const bad = cifarRecords(2);
  bad[3073] = 10;
  assert.throws(() => parseCifarRecords(bad, 'lbl.bin'), /lbl\.bin: record 1 has label 10, expected 0..9/);
});

test('CIFAR binary folder: 5 training batches + test batch, class names from batches.meta.txt', async () => {
  const dir = writeCifarBinaryDir(root);
  const { train, test: t } = loadCifarBinaryDir(dir);
  assert.equal(train.y.length, 20);
  assert.equal(t.y.length, 3);
  assert.deepEqual(train.sampleShape, [32, 32, 3]);
  assert.deepEqual(train.classNames, [...CIFAR10_CLASSES]);
  assert.deepEqual(Array.from(train.y.slice(4, 8)), [2, 3, 4, 5]); // batch 2 starts at label offset 2
  // Detected as a directory by loadDataset, directly or through its parent.
  assert.equal((await loadDataset(dir)).train.y.length, 20);
  assert.equal((await loadDataset(root, { limit: 5 })).train.y.length, 5);
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords(3).subarray(1));
  assert.throws(() => loadCifarBinaryDir(dir), /test_batch\.bin: 9218 bytes is not a multiple/);
});
