/** File-system failures (an --out under a file, a folder where a file should be, no permission, ...) through the CLI. */
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileSystemError, PoisonlabError } from '../../src/util/errors.js';
import { asAnotherUser, assertOneLineError, cli, parseError } from './run.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-fs-errors-'));
// readable by the other user of the permission tests
chmodSync(root, 0o755);
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh folder holding a regular file `file` and a folder `dir.npz`. */
function scene(name: string): { dir: string; file: string; folder: string } {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, 'file'), 'not a folder');
  mkdirSync(join(dir, 'dir.npz'));
  return { dir, file: join(dir, 'file'), folder: join(dir, 'dir.npz') };
}

const listing = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();

test('every command that writes refuses an output under a file or on a file before it starts, and writes nothing', async () => {
  const { dir, file, folder } = scene('outputs');
  const before = listing(dir);
  // through the real CLI
  assertOneLineError(
    cli(['sweep', '--preset', 'quick', '--out', file]),
    /^poisonlab: --out .*\/file: expected a folder, found a file$/,
  );
  assertOneLineError(
    cli(['poison', '--regime', 'C', '--beta', '0.1', '--out', join(file, 'p.npz')]),
    /^poisonlab: --out .*\/file\/p\.npz: expected a folder at .*\/file, found a file$/,
  );
  // every other command's check, in this process (each fails before its command starts any work)
  const cases: [string[], RegExp][] = [
    [
      ['sweep', '--preset', 'quick', '--out', join(file, 'sub')],
      /^--out .*\/file\/sub: expected a folder at .*\/file, found a file$/,
    ],
    [['demo', '--out', join(file, 'sub')], /^--out .*: expected a folder at .*\/file, found a file$/],
    [['merge', file, dir], /^<out> .*\/file: expected a folder, found a file$/],
    [
      ['poison', '--regime', 'C', '--beta', '0.1', '--out', folder],
      /^--out .*\/dir\.npz: expected a file name, found a folder$/,
    ],
    [['surrogate', 'train', '--out', join(file, 's.npz')], /^--out .*: expected a folder at .*\/file/],
    [['train', '--save', join(file, 'w.npz')], /^--save .*: expected a folder at .*\/file/],
    [['convert', 'in.pth', join(file, 'w.safetensors')], /^<out> .*: expected a folder at .*\/file/],
    [['data', 'fetch', 'cifar10', '--dir', file], /^--dir .*\/file: expected a folder, found a file$/],
    [['bench', '--json', folder], /^--json .*\/dir\.npz: expected a file name, found a folder$/],
    [
      ['worker', '--queue', 'redis://127.0.0.1:1', '--cache', file],
      /^--cache .*\/file: expected a folder, found a file$/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const e = await parseError(...args);
    assert.ok(e instanceof PoisonlabError, `poisonlab ${args.join(' ')}: ${e}`);
    assert.match(e.message, pattern);
  }
  assert.deepEqual(listing(dir), before, 'nothing was written');
  assert.equal(readFileSync(file, 'utf8'), 'not a folder');
});

test('reading a folder, a missing file or a folder as a config names the path and what was expected', () => {
  const { dir, folder } = scene('inputs');
  assertOneLineError(
    cli(['data', 'info', folder]),
    /^poisonlab: .*\/dir\.npz: expected a \.npz file, found a folder \(EISDIR\)$/,
  );
  mkdirSync(join(dir, 'sweep.yaml'));
  assertOneLineError(
    cli(['sweep', '--config', join(dir, 'sweep.yaml'), '--out', join(dir, 'out')]),
    /^poisonlab: .*\/sweep\.yaml: expected a config file, found a folder \(EISDIR\)$/,
  );
  assertOneLineError(
    cli(['convert', join(dir, 'missing.pth'), join(dir, 'out.npz')]),
    /^poisonlab: .*\/missing\.pth: expected a PyTorch checkpoint file, found nothing there \(ENOENT\)$/,
  );
  assert.deepEqual(listing(dir), ['dir.npz', 'file', 'sweep.yaml']);
});

test('no permission: an unwritable output folder and an unreadable input, as a user without the rights', () => {
  const { dir } = scene('permissions');
  const locked = join(dir, 'locked');
  mkdirSync(locked, { mode: 0o555 });
  chmodSync(locked, 0o555);
  const secret = join(dir, 'secret.npz');
  writeFileSync(secret, 'x');
  chmodSync(secret, 0o000);
  const other = asAnotherUser();
  assertOneLineError(
    cli(['sweep', '--preset', 'quick', '--out', join(locked, 'sweep')], other),
    /^poisonlab: --out .*\/locked\/sweep: expected a folder you may write in at .*\/locked, found it not writable$/,
  );
  assertOneLineError(
    cli(['data', 'info', secret], other),
    /^poisonlab: .*\/secret\.npz: expected permission to open it, found it denied \(EACCES\)$/,
  );
  assert.deepEqual(listing(locked), []);
});

test('a failure the early checks cannot see is translated by the top-level handler (a loop of symbolic links)', () => {
  const { dir } = scene('loop');
  symlinkSync('loop', join(dir, 'loop'));
  assertOneLineError(
    cli(['sweep', '--preset', 'quick', '--out', join(dir, 'loop', 'sweep'), '--json']),
    /^poisonlab: .*\/loop\/sweep: expected a path that resolves, found a loop of symbolic links \(ELOOP\)$/,
  );
});

test('fileSystemError: real failures of the file system, each with its path and what was expected', () => {
  const { dir, file, folder } = scene('unit');
  const failure = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    assert.fail('expected the call to fail');
  };
  const message = (e: unknown, opts?: Parameters<typeof fileSystemError>[1]) => {
    const err = fileSystemError(e, opts);
    assert.ok(err instanceof PoisonlabError);
    return err.message;
  };
  assert.equal(
    message(failure(() => mkdirSync(file, { recursive: true }))),
    `${file}: expected a folder, found a file (EEXIST)`,
  );
  assert.equal(
    message(failure(() => mkdirSync(join(dir, 'dir.npz')))),
    `${folder}: expected a name not yet taken, found an existing folder (EEXIST)`,
  );
  assert.equal(
    message(failure(() => writeFileSync(join(file, 'x', 'y.npz'), ''))),
    `${join(file, 'x', 'y.npz')}: expected a folder at ${file}, found a file (ENOTDIR)`,
  );
  assert.equal(
    message(failure(() => readdirSync(file))),
    `${file}: expected a folder, found a file (ENOTDIR)`,
  );
  // reading a folder: Node's error names no path, the caller does
  assert.equal(
    message(
      failure(() => readFileSync(folder)),
      { path: folder, expected: 'a .npz file' },
    ),
    `${folder}: expected a .npz file, found a folder (EISDIR)`,
  );
  assert.equal(
    message(failure(() => readFileSync(join(dir, 'absent')))),
    `${join(dir, 'absent')}: expected an existing file or folder, found nothing there (ENOENT)`,
  );
  // a full disk: /dev/full fails every write with ENOSPC
  assert.equal(
    message(
      failure(() => writeFileSync('/dev/full', 'x')),
      { path: '/dev/full' },
    ),
    '/dev/full: expected free space on its disk, found the disk full (ENOSPC)',
  );
  assert.equal(fileSystemError(new Error('not a file-system error')), undefined);
  assert.equal(fileSystemError(new PoisonlabError('x: expected y')), undefined);
});

test('fileSystemError: the codes a test cannot provoke on this machine have their own lines', () => {
  // Errors shaped as Node makes them (code, syscall, path): a read-only mount, a quota, too many open files.
  const errno = (code: string, syscall: string) =>
    Object.assign(new Error(`${code}: ..., ${syscall} '/mnt/x'`), { code, syscall, path: '/mnt/x' });
  const cases: [string, string, string][] = [
    ['EROFS', 'open', '/mnt/x: expected a writable file system, found it read-only (EROFS)'],
    [
      'EDQUOT',
      'write',
      '/mnt/x: expected free space within your disk quota, found the quota used up (EDQUOT)',
    ],
    ['EPERM', 'unlink', '/mnt/x: expected permission to remove it, found it denied (EPERM)'],
    ['EMFILE', 'open', '/mnt/x: expected to open one more file, found too many files open (EMFILE)'],
    ['ENAMETOOLONG', 'open', '/mnt/x: expected a shorter path, found the name too long (ENAMETOOLONG)'],
    ['EIO', 'read', '/mnt/x: expected a working disk, found an input/output error (EIO)'],
  ];
  for (const [code, syscall, want] of cases)
    assert.equal(fileSystemError(errno(code, syscall))?.message, want);
  assert.equal(fileSystemError(errno('ECONNREFUSED', 'connect')), undefined);
});
