import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { register } from '../../src/cli/commands/data.js';
import { loadDataset } from '../../src/data/load.js';
import { writeNpz } from '../../src/io/npz.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { writeCifarBinaryDir } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-load-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('loadDataset: limits, binary classes, and mnist resolved from any working directory', async () => {
  const cwd = process.cwd();
  // A working directory with no ../shared beside it, wherever the temp folder is.
  const away = join(root, 'away', 'cwd');
  mkdirSync(away, { recursive: true });
  process.chdir(away);
  try {
    const { train, test: t } = await loadDataset('mnist', { classes: '3,8', limit: 50, testLimit: 20 });
    assert.equal(train.y.length, 50);
    assert.equal(t.y.length, 20);
    assert.deepEqual(train.classNames, ['3', '8']);
    assert.ok(train.y.every((c) => c === 0 || c === 1));
    // cifar10 is not reachable from here: the error says what to do.
    const saved = process.env.POISONLAB_CIFAR10;
    delete process.env.POISONLAB_CIFAR10;
    try {
      await assert.rejects(
        loadDataset('cifar10'),
        /cifar10: not found in .*run `poisonlab data fetch cifar10`/,
      );
    } finally {
      if (saved !== undefined) process.env.POISONLAB_CIFAR10 = saved;
    }
  } finally {
    process.chdir(cwd);
  }
});

test('loadDataset: unknown specs and bad limits are one-line errors', async () => {
  await assert.rejects(
    loadDataset('imagenet'),
    /dataset 'imagenet': expected mnist, fashion-mnist, cifar10, toy/,
  );
  await assert.rejects(loadDataset(root), /not a dataset directory/);
  await assert.rejects(loadDataset('toy', { limit: 0 }), /training sample limit: expected >= 1, got 0/);
  await assert.rejects(loadDataset(join(root, 'none.npz')), /none\.npz: poisoned dataset file not found/);
});

test('loadDataset(.npz): train from the file, test is the clean split of meta.dataset', async () => {
  const source = writeCifarBinaryDir(join(root, 'npz-source'));
  const clean = await loadDataset(source, { classes: 'automobile,bird' });
  const n = clean.train.y.length;
  assert.equal(n, 3);
  const x = clean.train.x.map((v) => Math.min(1, v + 0.25)); // "poisoned" pixels
  const y = { data: clean.train.y, shape: [n] };
  const meta = {
    dataset: source,
    classes: 'automobile,bird',
    classNames: ['automobile', 'bird'],
    regime: 'B',
  };
  const path = join(root, 'poisoned.npz');
  writeNpz(
    path,
    { x: { data: x, shape: [n, 32, 32, 3] }, y, delta_norm: { data: new Float32Array(n), shape: [n] } },
    meta,
  );
  const { train, test: t } = await loadDataset(path, { limit: 2 });
  assert.equal(train.y.length, 2);
  assert.deepEqual(train.x, x.slice(0, 2 * 3072));
  assert.deepEqual(train.sampleShape, [32, 32, 3]);
  assert.deepEqual(train.classNames, ['automobile', 'bird']);
  assert.deepEqual(t.x, clean.test.x);
  assert.deepEqual(Array.from(t.y), [0, 1]);

  const noX = join(root, 'nox.npz');
  writeNpz(noX, { y }, meta);
  await assert.rejects(loadDataset(noX), /nox\.npz: expected an entry 'x'/);
  const noMeta = join(root, 'nometa.npz');
  writeNpz(noMeta, { x: { data: x, shape: [n, 32, 32, 3] }, y });
  await assert.rejects(loadDataset(noMeta), /nometa\.npz: expected JSON meta with 'dataset'/);
  const wrongClasses = join(root, 'wrong.npz');
  writeNpz(wrongClasses, { x: { data: x, shape: [n, 32, 32, 3] }, y }, { ...meta, classes: undefined });
  await assert.rejects(
    loadDataset(wrongClasses),
    /meta\.classNames \[automobile,bird\] differ from the classes of/,
  );
  const wrongShape = join(root, 'shape.npz');
  writeNpz(wrongShape, { x: { data: x, shape: [n, 96, 32, 1] }, y }, meta);
  await assert.rejects(loadDataset(wrongShape), /samples have shape \[96,32,1\], but .* has \[32,32,3\]/);
});

/** Run `poisonlab <args>` in-process; returns what went to stdout. */
async function cli(args: string[]): Promise<string> {
  const program = new Command('poisonlab').exitOverride();
  register(program);
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'poisonlab', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test('CLI data info --json prints one JSON object with sizes, shapes and class counts', async () => {
  const dir = writeCifarBinaryDir(root);
  const info = JSON.parse(await cli(['data', 'info', dir, '--limit', '10', '--json']));
  assert.equal(info.train.samples, 10);
  assert.equal(info.test.samples, 3);
  assert.deepEqual(info.train.sampleShape, [32, 32, 3]);
  assert.equal(info.classNames[0], 'airplane');
  assert.equal(info.train.classCounts.automobile, 1);
  const text = await cli(['data', 'info', 'toy', '--classes', '+1,-1']);
  assert.match(text, /toy: 2 classes \[\+1, -1\]/);
  await assert.rejects(cli(['data', 'fetch', 'mnist']), PoisonlabError);
});
