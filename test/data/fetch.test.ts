import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fetchCifar10 } from '../../src/data/fetch-cifar.js';
import { loadDataset } from '../../src/data/load.js';
import { readTar } from '../../src/data/tar.js';
import { writeCifarBinaryDir } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-fetch-'));
const archive = join(root, 'cifar-10-binary.tar.gz');
let md5 = '';
after(() => rmSync(root, { recursive: true, force: true }));

before(() => {
  // Build the archive with the system's tar, as the official one was built: a gzipped ustar of the folder.
  const src = join(root, 'src');
  writeCifarBinaryDir(src);
  execFileSync('tar', ['-czf', archive, '-C', src, 'cifar-10-batches-bin']);
  md5 = createHash('md5').update(readFileSync(archive)).digest('hex');
});

test('fetchCifar10 from a local archive: md5 checked, folder extracted, loadable', async () => {
  const dir = join(root, 'out');
  const result = await fetchCifar10({ from: archive, dir, md5 });
  assert.equal(result.md5, md5);
  assert.equal(result.dir, join(dir, 'cifar-10-batches-bin'));
  assert.deepEqual(readdirSync(dir), ['cifar-10-batches-bin'], 'no temporary files left');
  assert.ok(result.files.includes('cifar-10-batches-bin/test_batch.bin'));
  const split = await loadDataset(dir);
  assert.equal(split.train.y.length, 20);
  assert.equal(split.test.y.length, 3);
  // Fetching again replaces the folder in place.
  await fetchCifar10({ from: archive, dir, md5 });
  assert.deepEqual(readdirSync(dir), ['cifar-10-batches-bin']);
});

test('fetchCifar10: a wrong checksum is a one-line error and leaves no output', async () => {
  const dir = join(root, 'wrong');
  await assert.rejects(
    fetchCifar10({ from: archive, dir }),
    (e: Error) =>
      e.message.includes(`md5 checksum is ${md5}, expected c32a1d4ab5d03f1284b67883e8d87530`) &&
      !e.message.includes('\n'),
  );
  assert.ok(!existsSync(dir), 'the folder it would have created is gone');
  const existing = join(root, 'existing');
  mkdirSync(existing);
  await assert.rejects(fetchCifar10({ from: archive, dir: existing, md5: '0'.repeat(32) }), /md5 checksum/);
  assert.deepEqual(readdirSync(existing), [], 'an existing folder is left as it was');
});

test('fetchCifar10: missing file, non-gzip data and an archive without the batches are errors', async () => {
  await assert.rejects(
    fetchCifar10({ from: join(root, 'nope.tar.gz'), dir: join(root, 'x') }),
    /nope\.tar\.gz: archive file not found/,
  );
  const notGz = join(root, 'plain.tar.gz');
  writeFileSync(notGz, 'hello');
  const notGzMd5 = createHash('md5').update('hello').digest('hex');
  await assert.rejects(
    fetchCifar10({ from: notGz, dir: join(root, 'y'), md5: notGzMd5 }),
    /plain\.tar\.gz: not a valid \.tar\.gz archive/,
  );
  const other = join(root, 'other.tar.gz');
  mkdirSync(join(root, 'othersrc', 'stuff'), { recursive: true });
  writeFileSync(join(root, 'othersrc', 'stuff', 'a.txt'), 'a');
  execFileSync('tar', ['-czf', other, '-C', join(root, 'othersrc'), 'stuff']);
  const otherMd5 = createHash('md5').update(readFileSync(other)).digest('hex');
  await assert.rejects(
    fetchCifar10({ from: other, dir: join(root, 'z'), md5: otherMd5 }),
    /archive lacks cifar-10-batches-bin\/data_batch_1\.\.5\.bin and test_batch\.bin/,
  );
  assert.ok(!existsSync(join(root, 'z')));
});

test('fetchCifar10 over http: streams the download, checks md5; HTTP errors are one-line', async () => {
  const body = readFileSync(archive);
  const server = createServer((req, res) => {
    if (req.url === '/cifar-10-binary.tar.gz') {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const seen: number[] = [];
    const dir = join(root, 'http');
    const result = await fetchCifar10({
      from: `${base}/cifar-10-binary.tar.gz`,
      dir,
      md5,
      onProgress: (bytes, total) => {
        assert.equal(total, body.length);
        seen.push(bytes);
      },
    });
    assert.equal(result.archiveBytes, body.length);
    assert.equal(seen.at(-1), body.length);
    assert.equal((await loadDataset(result.dir)).test.y.length, 3);
    await assert.rejects(
      fetchCifar10({ from: `${base}/missing`, dir: join(root, 'h404'), md5 }),
      /missing: download failed \(HTTP 404/,
    );
    assert.ok(!existsSync(join(root, 'h404')));
  } finally {
    server.close();
  }
});

test('readTar: reads the members tar wrote, with long names, and rejects a corrupt header', () => {
  const src = join(root, 'tarsrc');
  const longName = `${'d'.repeat(120)}.bin`;
  mkdirSync(join(src, 'top'), { recursive: true });
  writeFileSync(join(src, 'top', longName), Uint8Array.of(1, 2, 3));
  writeFileSync(join(src, 'top', 'empty'), '');
  const tgz = join(root, 'long.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', src, 'top']);
  const tar = new Uint8Array(execFileSync('gzip', ['-dc', tgz]));
  const entries = readTar(tar, 'long.tar');
  const file = entries.find((e) => e.path === `top/${longName}`);
  assert.ok(file, `entries: ${entries.map((e) => e.path)}`);
  assert.deepEqual(Array.from(file.data), [1, 2, 3]);
  assert.equal(entries.find((e) => e.path === 'top')?.type, 'directory');
  assert.equal(entries.find((e) => e.path === 'top/empty')?.data.length, 0);
  const corrupt = tar.slice();
  corrupt[0] = corrupt[0]! ^ 0xff;
  assert.throws(
    () => readTar(corrupt, 'bad.tar'),
    /bad\.tar: corrupt tar header at byte 0 \(checksum mismatch\)/,
  );
  assert.throws(() => readTar(tar.subarray(0, 700), 'cut.tar'), /cut\.tar: truncated tar archive/);
});
