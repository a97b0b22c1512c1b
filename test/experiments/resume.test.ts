import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { planRuns } from '../../src/experiments/plan.js';
import { type RunRecord, SweepStore, sweepPaths } from '../../src/results/index.js';
import { fixture, nodeArgs } from './fixtures/paths.js';
import { smallConfig } from './fixtures/small-config.js';

function storedRuns(out: string): RunRecord[] {
  const db = sweepPaths(out).db;
  if (!existsSync(db)) return [];
  try {
    const store = SweepStore.open(db, { readonly: true });
    try {
      return store.runs(configHash(smallConfig()));
    } finally {
      store.close();
    }
  } catch {
    return []; // not created yet
  }
}

test('a sweep killed with SIGKILL midway continues where it stopped: nothing lost, nothing redone', async () => {
  const out = mkdtempSync(join(tmpdir(), 'poisonlab-resume-'));
  const log = join(out, 'tasks.log');
  const env = { ...process.env, FAKE_LOG: log, FAKE_DELAY_MS: '150' };
  const script = fixture('fake-sweep');
  // Its own process group, so that the kill takes the sweep and its workers down together, as a crash would.
  const child = spawn(process.execPath, nodeArgs(script, out, '2'), { env, detached: true, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const total = planRuns(smallConfig()).length;
  let before: RunRecord[] = [];
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    before = storedRuns(out);
    if (before.length >= 4) break;
  }
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  before = storedRuns(out);
  assert.ok(
    before.length >= 4 && before.length < total,
    `killed midway (${before.length} of ${total} stored)`,
  );

  const rerun = spawnSync(process.execPath, nodeArgs(script, out, '2'), { env, encoding: 'utf8' });
  assert.equal(rerun.status, 0, rerun.stderr);
  const summary = JSON.parse(rerun.stdout.trim().split('\n').at(-1)!);
  assert.equal(summary.skipped, before.length);
  assert.equal(summary.done, total - before.length);

  const after = storedRuns(out);
  assert.equal(after.length, total, 'every run present');
  assert.equal(new Set(after.map((r) => r.runKey)).size, total, 'exactly once');
  const byKey = new Map(after.map((r) => [r.runKey, r]));
  const starts = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[1]);
  for (const r of before) {
    assert.equal(byKey.get(r.runKey)!.startedAt, r.startedAt, `${r.runKey} kept its record`);
    assert.equal(starts.filter((k) => k === r.runKey).length, 1, `${r.runKey} was not redone`);
  }
  assert.equal(starts.filter((k) => k === 'surrogate').length, 1, 'the surrogate was reused');
});

test('workers busy in a long synchronous task end when the sweep that forked them is killed', async () => {
  const out = mkdtempSync(join(tmpdir(), 'poisonlab-orphan-'));
  const log = join(out, 'tasks.log');
  // every run computes synchronously for 10 minutes, far longer than this test waits
  const env = { ...process.env, FAKE_LOG: log, FAKE_BUSY_MS: '600000' };
  const child = spawn(process.execPath, nodeArgs(fixture('fake-sweep'), out, '2'), { env, stdio: 'ignore' });
  const workerPids = (): number[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => Number(l.split(' ')[2]))
      : [];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 600 && new Set(workerPids()).size < 2; i++)
    await new Promise((r) => setTimeout(r, 100));
  const pids = [...new Set(workerPids())];
  assert.equal(pids.length, 2, 'two workers started a run');
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.kill('SIGKILL'); // the coordinator alone, not its process group
  await exited;
  for (let i = 0; i < 600 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  const left = pids.filter(alive);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  assert.deepEqual(left, [], 'no worker outlives its sweep');
});
