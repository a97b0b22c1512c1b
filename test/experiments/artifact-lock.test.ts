/**
 * buildOnce without a cluster: concurrent callers build an artifact once, a lock whose holder died (its mtime no
 * longer refreshed) is taken over, and a file that does not match its recorded hash is a one-line error.
 * The same lock across real Slurm tasks, with the holder killed mid-build: test/experiments/slurm.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildOnce, hashFile } from '../../src/experiments/artifact-lock.js';
import { writeNpz } from '../../src/io/npz.js';
import { PoisonlabError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const write = (path: string, v: number) =>
  writeNpz(path, { x: { data: Float32Array.from([v, 2, 3]), shape: [3] } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('concurrent callers build once; the others wait and read it with its hash', async () => {
  const path = join(dir, 'a', 'poison.npz');
  let builds = 0;
  const events: string[][] = [[], [], []];
  const results = await Promise.all(
    [0, 1, 2].map((i) =>
      buildOnce(
        path,
        async () => {
          builds++;
          await sleep(300);
          write(path, 1);
        },
        { what: 'poison a', onEvent: (e) => events[i]!.push(e) },
      ),
    ),
  );
  assert.equal(builds, 1);
  assert.equal(results.filter((r) => r.built).length, 1);
  assert.equal(new Set(results.map((r) => r.contentHash)).size, 1);
  assert.deepEqual(events.flat().sort(), [
    'building',
    'built',
    'reused-after-wait',
    'reused-after-wait',
    'waiting',
    'waiting',
  ]);
  const again = await buildOnce(path, async () => assert.fail('built twice'), { what: 'poison a' });
  assert.equal(again.built, false);
});

test("a dead holder's lock goes stale and is taken over", async () => {
  const path = join(dir, 'b', 'poison.npz');
  mkdirSync(`${path}.lock`, { recursive: true }); // left by a holder killed with -9
  const old = new Date(Date.now() - 60_000);
  utimesSync(`${path}.lock`, old, old);
  const events: string[] = [];
  const r = await buildOnce(path, async () => write(path, 2), {
    what: 'poison b',
    staleMs: 2000,
    onEvent: (e) => events.push(e),
  });
  assert.equal(r.built, true);
  assert.deepEqual(events, ['building', 'built']);
});

test('a file that does not match its recorded hash is a one-line error naming it', async () => {
  const path = join(dir, 'c', 'poison.npz');
  await buildOnce(path, async () => write(path, 3), { what: 'poison c' });
  write(path, 4); // replaced after the build
  await assert.rejects(
    buildOnce(path, async () => assert.fail('rebuilt'), { what: 'poison c' }),
    (e: unknown) =>
      e instanceof PoisonlabError &&
      e.message.startsWith(`poison c: ${path} has content hash `) &&
      e.message.includes(`as recorded by the task that built it in ${hashFile(path)}`) &&
      !e.message.includes('\n'),
  );
});

test('a caller told to stop builds nothing, whether it still waits for the lock or has just taken it', async () => {
  const path = join(dir, 'd', 'poison.npz');
  const stop = new AbortController();
  stop.abort(); // the stop came while it polled; the holder then released the lock without building
  const events: string[] = [];
  await assert.rejects(
    buildOnce(path, async () => assert.fail('built after the stop'), {
      what: 'poison d',
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    }),
    (e: unknown) => e instanceof PoisonlabError && e.message === 'poison d: stopped before building',
  );
  assert.deepEqual(events, []);
  assert.equal(existsSync(`${path}.lock`), false, 'the lock is released');
  // Still waiting for a live holder's lock when the stop comes: it gives up without building.
  const held = join(dir, 'e', 'poison.npz');
  mkdirSync(`${held}.lock`, { recursive: true });
  const later = new AbortController();
  const waiting = buildOnce(held, async () => assert.fail('built after the stop'), {
    what: 'poison e',
    signal: later.signal,
  });
  await sleep(100);
  later.abort();
  await assert.rejects(waiting, /poison e: stopped while waiting for its lock/);
});
