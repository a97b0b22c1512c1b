/**
 * A runs.sqlite that is not a sweep store (random bytes, a truncated copy, another program's SQLite file) is a
 * one-line error naming the file, for `report`, `sweep` (resuming the folder) and `merge`, through the library
 * and through the CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { mergeSweeps } from '../../src/experiments/merge.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { writeReport } from '../../src/report/index.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { CLI_MAIN, FAKE_TASKS, nodeArgs } from '../experiments/fixtures/paths.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';

const root = mkdtempSync(join(tmpdir(), 'poisonlab-corrupt-'));

/** A sweep folder whose runs.sqlite is written by `make`. */
function folder(name: string, make: (db: string) => void): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  make(sweepPaths(dir).db);
  return dir;
}

/** A real, finished store (fake tasks) to damage. */
async function realStore(): Promise<string> {
  const dir = join(root, 'real');
  const s = await runSweep(smallConfig({ widths: [10], repetitions: 1 }), {
    out: dir,
    workers: 1,
    taskModule: FAKE_TASKS,
  });
  assert.equal(s.failed, 0);
  return sweepPaths(dir).db;
}

function expectNotAStore(f: () => unknown, db: string, found: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof PoisonlabError, String(e));
    assert.ok(!e.message.includes('\n'), e.message);
    assert.ok(e.message.startsWith(`${db}: expected a poisonlab sweep store (SQLite), found `), e.message);
    assert.match(e.message, found);
    return true;
  });
}

async function expectNotAStoreAsync(f: () => Promise<unknown>, db: string, found: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expectNotAStore(
    () => {
      if (caught) throw caught;
    },
    db,
    found,
  );
}

test('random bytes, a truncated store and a foreign SQLite file are refused in one line', async () => {
  const real = await realStore();
  const cases: { dir: string; found: RegExp }[] = [
    {
      dir: folder('random', (db) =>
        writeFileSync(db, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) % 256))),
      ),
      found: /5000 bytes that do not start with SQLite's header/,
    },
    {
      dir: folder('truncated', (db) => {
        copyFileSync(real, db);
        truncateSync(db, Math.floor(statSync(db).size / 2));
      }),
      found: /a damaged SQLite file \(/,
    },
    {
      dir: folder('header-only', (db) => {
        copyFileSync(real, db);
        truncateSync(db, 50);
      }),
      found: /a damaged SQLite file \(/,
    },
    {
      dir: folder('foreign', (db) => {
        const other = new Database(db);
        other.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)');
        other.close();
      }),
      found: /an SQLite database without a sweep's tables \(photos\)/,
    },
  ];
  for (const { dir, found } of cases) {
    const db = sweepPaths(dir).db;
    // report
    await expectNotAStoreAsync(() => writeReport(dir), db, found);
    // sweep, resuming the folder
    await expectNotAStoreAsync(
      () => runSweep(smallConfig(), { out: dir, workers: 1, taskModule: FAKE_TASKS }),
      db,
      found,
    );
    // merge: as a source, and as OUT
    expectNotAStore(() => mergeSweeps(join(root, `merged-${dir.length}`), [dir]), db, found);
    expectNotAStore(() => mergeSweeps(dir, [join(root, 'real')]), db, found);
    // A refused file is left as it was (nothing written into it).
    assert.throws(() => SweepStore.open(db, { readonly: true }), PoisonlabError);
  }
});

test('the CLI prints the refusal as one poisonlab: line for report, sweep and merge', () => {
  const dir = folder('cli-random', (db) => writeFileSync(db, 'not a database at all, just some text\n'));
  const db = sweepPaths(dir).db;
  const line = `poisonlab: ${db}: expected a poisonlab sweep store (SQLite), found 38 bytes that do not start with SQLite's header`;
  for (const args of [
    ['report', dir],
    ['sweep', '--preset', 'quick', '--out', dir, '--workers', '1'],
    ['merge', join(root, 'cli-out'), dir],
  ]) {
    const r = spawnSync(process.execPath, nodeArgs(CLI_MAIN, ...args), { encoding: 'utf8' });
    assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
    // (sweep first notes what it starts on its own line; the error is one line, the last)
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.at(-1), line, args[0]);
    assert.equal(lines.filter((l) => l.startsWith('poisonlab:')).length, 1, r.stderr);
  }
});
