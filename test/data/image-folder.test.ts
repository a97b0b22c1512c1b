import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { loadImageFolder, loadImageFolderSplit } from '../../src/data/image-folder.js';
import { loadDataset } from '../../src/data/load.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-imgfolder-'));
const cacheDir = join(root, 'cache');
after(() => rmSync(root, { recursive: true, force: true }));

/** A w x h PNG filled with one colour (channels 3) or one grey level (channels 1). */
async function png(path: string, value: number[], w = 4, h = 3): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  const raw = Buffer.alloc(w * h * value.length);
  for (let i = 0; i < w * h; i++) raw.set(value, i * value.length);
  // sharp writes sRGB unless told otherwise, so grey images need the 'b-w' colourspace.
  await sharp(raw, { raw: { width: w, height: h, channels: value.length as 1 | 3 } })
    .toColourspace(value.length === 1 ? 'b-w' : 'srgb')
    .png()
    .toFile(path);
}

const colours: Record<string, number[][]> = {
  // Class folder names are sorted: 'apple' < 'banana' < 'cherry'.
  cherry: [[255, 0, 0]],
  apple: [
    [0, 255, 0],
    [0, 128, 0],
    [0, 64, 0],
  ],
  banana: [
    [255, 255, 0],
    [128, 128, 0],
  ],
};

before(async () => {
  for (const split of ['train', 'test']) {
    for (const [cls, list] of Object.entries(colours)) {
      for (const [i, c] of list.entries()) await png(join(root, 'rgb', split, cls, `${i}.png`), c);
    }
  }
  for (const split of ['train', 'test']) {
    await png(join(root, 'grey', split, 'dark', 'a.png'), [10]);
    await png(join(root, 'grey', split, 'light', 'a.png'), [240]);
  }
});

test('image folder: classes sorted, interleaved round-robin, RGB pixels / 255 in HWC', async () => {
  const { train, test: t } = await loadImageFolder(join(root, 'rgb'), { cacheDir });
  assert.deepEqual(train.classNames, ['apple', 'banana', 'cherry']);
  assert.deepEqual(train.sampleShape, [3, 4, 3]);
  assert.deepEqual(Array.from(train.y), [0, 1, 2, 0, 1, 0]);
  assert.equal(t.y.length, 6);
  const first = (i: number) => Array.from(train.x.slice(i * 36, i * 36 + 3)).map((v) => Math.round(v * 255));
  assert.deepEqual(first(0), [0, 255, 0]);
  assert.deepEqual(first(2), [255, 0, 0]);
  assert.deepEqual(first(4), [128, 128, 0]);
  // Every pixel of sample 5 (apple #2) is (0, 64, 0).
  for (let p = 0; p < 12; p++)
    assert.deepEqual(
      Array.from(train.x.slice(5 * 36 + p * 3, 5 * 36 + p * 3 + 3)),
      [0, 64 / 255, 0].map(Math.fround),
    );
});

test('image folder: grayscale images give one channel', async () => {
  const { train } = await loadImageFolder(join(root, 'grey'), { cache: false });
  assert.deepEqual(train.sampleShape, [3, 4, 1]);
  assert.deepEqual(train.classNames, ['dark', 'light']);
  assert.equal(Math.round(train.x[0]! * 255), 10);
  assert.equal(Math.round(train.x[12]! * 255), 240);
});

test('image folder: the cache returns identical data without decoding again', async () => {
  const dir = join(root, 'rgb', 'train');
  const cache = join(root, 'cache-hit');
  let decoded = 0;
  const first = await loadImageFolderSplit(dir, { cacheDir: cache, onProgress: () => decoded++ });
  assert.equal(decoded, 6);
  assert.equal(readdirSync(cache).filter((f) => f.endsWith('.bin')).length, 1);
  const second = await loadImageFolderSplit(dir, { cacheDir: cache, onProgress: () => decoded++ });
  assert.equal(decoded, 6, 'second load must come from the cache');
  assert.deepEqual(second, first);
  // limitPerClass is part of the key: a different limit decodes (and caches) anew.
  const limited = await loadImageFolderSplit(dir, {
    cacheDir: cache,
    limitPerClass: 1,
    onProgress: () => decoded++,
  });
  assert.equal(decoded, 9);
  assert.deepEqual(Array.from(limited.y), [0, 1, 2]);
  // A damaged cache file is ignored and rewritten, not trusted.
  for (const f of readdirSync(cache)) writeFileSync(join(cache, f), 'garbage');
  assert.deepEqual(await loadImageFolderSplit(dir, { cacheDir: cache }), first);
});

test('image folder: a different size or an unreadable image is a one-line error naming the file', async () => {
  await png(join(root, 'mixed', 'train', 'a', '0.png'), [1, 2, 3]);
  await png(join(root, 'mixed', 'train', 'b', '0.png'), [1, 2, 3], 5, 3);
  await assert.rejects(
    loadImageFolderSplit(join(root, 'mixed', 'train'), { cache: false }),
    /mixed\/train\/b\/0\.png: image is 5x3, expected 4x3 like .*a\/0\.png \(all images must share one size\)/,
  );
  mkdirSync(join(root, 'broken', 'train', 'a'), { recursive: true });
  await png(join(root, 'broken', 'train', 'a', '0.png'), [1, 2, 3]);
  writeFileSync(join(root, 'broken', 'train', 'a', '1.jpg'), 'not a jpeg');
  await assert.rejects(
    loadImageFolderSplit(join(root, 'broken', 'train'), { cache: false }),
    (e: Error) =>
      /broken\/train\/a\/1\.jpg: cannot decode image/.test(e.message) && !e.message.includes('\n'),
  );
  mkdirSync(join(root, 'empty', 'train', 'a'), { recursive: true });
  await assert.rejects(
    loadImageFolderSplit(join(root, 'empty', 'train')),
    /empty\/train\/a: class folder holds no/,
  );
});

const CIFAR_JPEG = join('..', 'shared', 'data', 'cifar10-jpeg');

test('CIFAR-10 JPEG folder (../shared/data/cifar10-jpeg) loads as CIFAR-10 with limitPerClass', async (t) => {
  if (!existsSync(CIFAR_JPEG)) {
    t.skip(`${CIFAR_JPEG} not present`);
    return;
  }
  const { train, test: testSet } = await loadImageFolder(CIFAR_JPEG, { limitPerClass: 3, cacheDir });
  assert.equal(train.y.length, 30);
  assert.equal(testSet.y.length, 30);
  assert.deepEqual(train.sampleShape, [32, 32, 3]);
  assert.equal(train.classNames[0], 'airplane');
  assert.equal(train.classNames[9], 'truck');
  assert.deepEqual(Array.from(train.y.slice(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // The 'cifar10' spec finds this folder; a limit decodes only what it needs and keeps classes balanced.
  const viaSpec = await loadDataset('cifar10', { limit: 20, testLimit: 10, cacheDir });
  assert.equal(viaSpec.train.y.length, 20);
  assert.deepEqual(
    Array.from(viaSpec.train.y),
    [...Array(20).keys()].map((i) => i % 10),
  );
  assert.deepEqual(viaSpec.train.x, train.x.slice(0, 20 * 3072));
  const cats = await loadDataset('cifar10', { classes: 'cat,dog', limit: 4, testLimit: 4, cacheDir });
  assert.deepEqual(cats.train.classNames, ['cat', 'dog']);
  assert.deepEqual(Array.from(cats.train.y), [0, 1, 0, 1]);
});
