/** Poisoned or imported sets with non-finite values, or pixels outside [0, 1], are refused in one line. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MNIST_CLASSES } from '../../src/data/builtin.js';
import { checkSampleValues, validateDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/load.js';
import { readNpz, writeNpz } from '../../src/io/npz.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { assertOneLineError, cli } from './run.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-pixel-errors-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A poisoned-set file of 3 MNIST-shaped images (all 0.5) with `value` at x[1, 2, 3, 0]. */
function poisonedFile(name: string, value: number): string {
  const x = new Float32Array(3 * 28 * 28).fill(0.5);
  x[784 + 2 * 28 + 3] = value;
  const path = join(root, name);
  writeNpz(
    path,
    { x: { data: x, shape: [3, 28, 28, 1] }, y: { data: Int32Array.from([0, 1, 2]), shape: [3] } },
    { dataset: 'mnist', classNames: [...MNIST_CLASSES] },
  );
  return path;
}

test('checkSampleValues: images in [0, 1], vectors finite; the first bad value and its index are named', () => {
  const img = [2, 2, 1];
  checkSampleValues(Float32Array.from([0, 1, 0.5, 0.25, 1, 0, 0, 1]), img, 'ok.npz');
  const refuse = (values: number[], shape: number[], want: string) =>
    assert.throws(
      () => checkSampleValues(Float32Array.from(values), shape, 'p.npz'),
      (e) => e instanceof PoisonlabError && e.message === want,
    );
  refuse(
    [0, 0, 0, 0, 0, 1.5, 0, 2],
    img,
    'p.npz: expected pixels in [0, 1], found 1.5 at x[1, 0, 1, 0] (flat index 5)',
  );
  refuse(
    [0, -0.25, 0, 0],
    img,
    'p.npz: expected pixels in [0, 1], found -0.25 at x[0, 0, 1, 0] (flat index 1)',
  );
  refuse([0, 0, NaN, 0], img, 'p.npz: expected pixels in [0, 1], found NaN at x[0, 1, 0, 0] (flat index 2)');
  refuse(
    [0, 0, 0, Infinity],
    img,
    'p.npz: expected pixels in [0, 1], found Infinity at x[0, 1, 1, 0] (flat index 3)',
  );
  // vectors (the theory's toy points, shifted by its attack) have no declared range, only finite values
  checkSampleValues(Float32Array.from([5, -7, 0.5, 1e6]), [2], 'toy.npz');
  refuse(
    [5, -7, 0.5, -Infinity],
    [2],
    'p.npz: expected finite values, found -Infinity at x[1, 1] (flat index 3)',
  );
  // every loader's dataset passes through validateDataset, which checks the same
  assert.throws(
    () =>
      validateDataset({
        name: 'imported',
        x: Float32Array.from([0, 2]),
        y: Int32Array.from([0, 1]),
        sampleShape: [1, 1, 1],
        classNames: ['a', 'b'],
      }),
    /^PoisonlabError: imported: expected pixels in \[0, 1\], found 2 at x\[1, 0, 0, 0\] \(flat index 1\)$/,
  );
});

test('a poisoned .npz given as a dataset is refused, naming the file, the index and the value', async () => {
  const high = poisonedFile('high.npz', 1.5);
  assertOneLineError(
    cli(['data', 'info', high]),
    /^poisonlab: .*\/high\.npz: expected pixels in \[0, 1\], found 1\.5 at x\[1, 2, 3, 0\] \(flat index 843\)$/,
  );
  const nan = poisonedFile('nan.npz', Number.NaN);
  await assert.rejects(
    loadDataset(nan),
    (e) =>
      e instanceof PoisonlabError &&
      /nan\.npz: expected pixels in \[0, 1\], found NaN at x\[1, 2, 3, 0\]/.test(e.message),
  );
  // the same file with the value in range loads
  const fine = await loadDataset(poisonedFile('fine.npz', 1), { testLimit: 5 });
  assert.equal(fine.train.y.length, 3);
});

test('a sweep refuses a cached poison whose pixels were corrupted, naming the file', {
  timeout: 300_000,
}, () => {
  const out = join(root, 'sweep');
  const config = join(root, 'sweep.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'pixels',
      dataset: 'mnist',
      limit: 100,
      testLimit: 50,
      model: 'mnist-cnn',
      widths: [2],
      regimes: [{ regime: 'C', beta: 0.2 }],
      training: { lr: 0.1, batchSize: 50, maxEpochs: 1 },
      repetitions: 1,
    }),
  );
  const first = cli(['sweep', '--config', config, '--out', out, '--workers', '1', '--json'], {
    timeout: 240_000,
  });
  assert.equal(first.status, 0, first.stderr);
  const [poison] = readdirSync(join(out, 'poisons')).filter((f) => f.endsWith('.npz'));
  assert.ok(poison, 'the sweep wrote its poison');
  const path = join(out, 'poisons', poison);
  const { arrays, meta } = readNpz(path);
  const x = arrays['x']!.data as Float32Array;
  x[30] = -3;
  writeNpz(path, arrays, meta as object);
  // a fresh store, so the run trains again on the poison it finds
  for (const f of readdirSync(out)) if (f.startsWith('runs.sqlite')) rmSync(join(out, f));
  const again = cli(['sweep', '--config', config, '--out', out, '--workers', '1', '--json'], {
    timeout: 240_000,
  });
  assert.equal(again.status, 1);
  const lines = again.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, again.stderr);
  assert.match(
    lines[0]!,
    new RegExp(
      `^poisonlab: sweep: 1 of 1 runs failed \\(first: .*${poison.replaceAll('.', '\\.')}: expected pixels in \\[0, 1\\], found -3 at x\\[0, 1, 2, 0\\] \\(flat index 30\\)\\)`,
    ),
  );
});
