/**
 * The BullMQ queue against a real redis-server (Debian's, started per test on a free port of 127.0.0.1 with a
 * temporary folder and appendonly), with real `poisonlab worker` and `poisonlab sweep --queue` processes
 * training a tiny MNIST slice. The reference is the local pool's store of the same config.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { applyOverrides, configHash, parseConfig } from '../../src/config/schema.js';
import { planRuns } from '../../src/experiments/plan.js';
import { getPreset } from '../../src/experiments/presets.js';
import { jobId } from '../../src/experiments/queue.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { CLI_MAIN, nodeArgs } from './fixtures/paths.js';
import { tinyRealConfig } from './fixtures/tiny-real-config.js';

const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
// CI installs redis-server (.ci/run), so there a missing one is a failure; elsewhere the suite says why it skips.
const SKIP =
  HAVE_REDIS || process.env['CI'] ? false : 'redis-server is not installed (apt-get install redis-server)';

const RAW = tinyRealConfig('queue-e2e');
const config = parseConfig(RAW, 'test');
const KEYS = planRuns(config).map((r) => r.key);
/** Short locks and stall checks, so that a dead worker's job comes back within seconds. */
const FAST = ['--lock-ms', '2000', '--stalled-ms', '1000'];

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-queue-'));
const configPath = join(dir, 'sweep.json');
const children: ChildProcess[] = [];
let reference: Row[] = [];

interface Row {
  key: string;
  testAccuracy: number;
  testLoss: number;
  epochs: number;
  bestEpoch: number;
  bestVal: number | null;
}

function rows(out: string): Row[] {
  const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
  try {
    return store
      .runs()
      .map((r) => ({
        key: r.runKey,
        testAccuracy: r.testAccuracy,
        testLoss: r.testLoss,
        epochs: r.epochs,
        bestEpoch: r.bestEpoch,
        bestVal: r.bestValAccuracy,
      }))
      .sort((a, b) => a.key.localeCompare(b.key));
  } finally {
    store.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A process with its output collected, and a way to wait for a line. */
interface Proc {
  child: ChildProcess;
  /** stdout and stderr together. */
  out: () => string;
  /** stdout alone (the --json summary). */
  json: () => { runs: number; done: number; skipped: number; failed: number };
  waitFor: (re: RegExp) => Promise<void>;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[]): Proc {
  // Its own process group: kill -9 of the group takes the sandboxed children too (a machine that dies).
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  let stdout = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    onData(d);
  });
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    out: () => text,
    json: () => JSON.parse(stdout),
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        if (re.test(text)) return resolve();
        waiters.push({ re, resolve });
        exited.then(() =>
          setTimeout(
            () => (re.test(text) ? resolve() : reject(new Error(`exited without ${re}:\n${text}`))),
            50,
          ),
        );
      }),
    exited,
  };
}

function kill9(p: Proc): Promise<unknown> {
  try {
    process.kill(-p.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
  return p.exited;
}

async function redis(port: number, folder: string): Promise<Proc> {
  mkdirSync(folder, { recursive: true });
  const r = start('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    folder,
    '--appendonly',
    'yes',
    '--save',
    '',
  ]);
  await r.waitFor(/Ready to accept connections/);
  return r;
}

async function stopRedis(r: Proc): Promise<void> {
  r.child.kill('SIGTERM'); // a clean shutdown writes the append-only file out
  await r.exited;
}

const cli = (...args: string[]) => start(process.execPath, nodeArgs(CLI_MAIN, ...args));
const worker = (url: string, cache: string) => cli('worker', '--queue', url, '--cache', cache, ...FAST);
const coordinator = (url: string, out: string) =>
  cli('sweep', '--config', configPath, '--out', out, '--queue', url, '--json');

/** How many `done <job id>` lines the workers printed per run key. */
function doneCounts(...workers: Proc[]): Map<string, number> {
  const counts = new Map<string, number>();
  const text = workers.map((w) => w.out()).join('\n');
  for (const key of KEYS) {
    const id = jobId(configHash(config), {
      kind: 'train',
      run: planRuns(config).find((r) => r.key === key)!,
    });
    counts.set(key, text.split('\n').filter((l) => l.startsWith(`done ${id} `)).length);
  }
  return counts;
}

before(async () => {
  if (SKIP) return;
  writeFileSync(configPath, JSON.stringify(RAW));
  const local = join(dir, 'local');
  const s = await runSweep(config, { out: local, workers: 2 });
  assert.equal(s.failed, 0, JSON.stringify(s.failures));
  reference = rows(local);
  assert.equal(reference.length, KEYS.length);
});

after(() => {
  for (const c of children) {
    try {
      if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('sweeps on a BullMQ queue (real redis-server)', { skip: SKIP, timeout: 240_000 }, () => {
  it("two workers finish the sweep with the local pool's numbers, each run once; a re-run enqueues nothing", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = await redis(Number(url.split(':')[2]), join(dir, 'redis-1'));
    const w1 = worker(url, join(dir, 'cache-1a'));
    const w2 = worker(url, join(dir, 'cache-1b')); // separate caches: each rebuilds what it needs
    const out = join(dir, 'q1');
    const c = coordinator(url, out);
    assert.equal(await c.exited, 0, c.out());
    const summary = c.json();
    assert.deepEqual([summary.runs, summary.done, summary.failed], [KEYS.length, KEYS.length, 0]);
    assert.deepEqual(rows(out), reference);
    // Each run's per-epoch history came with its result (for the dashboard), as the local pool stores it.
    const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
    try {
      const hash = store.getConfig()!.hash;
      for (const row of reference) {
        const epochs = store.epochs(hash, row.key);
        assert.equal(epochs.length, row.epochs, `${row.key}: stored epochs`);
        assert.equal(epochs.at(-1)!.epoch, row.epochs);
      }
      // The worker that built a gradient poison sent its report: the report's budget table is filled.
      const a = store.poisons(hash).find((p) => p.poisonKey === 'A-C500-r0')!;
      assert.equal(typeof (a.report as { budgetSpent?: unknown }).budgetSpent, 'number');
    } finally {
      store.close();
    }
    for (const [key, n] of doneCounts(w1, w2)) assert.equal(n, 1, `${key} done ${n} times`);
    assert.match(w1.out() + w2.out(), /done \S+\.poison\.A-C500-r0 content [0-9a-f]{12}/);
    assert.doesNotMatch(c.out(), /warning: redis: appendonly/, 'the test server runs with appendonly yes');

    const again = coordinator(url, out);
    assert.equal(await again.exited, 0, again.out());
    const s2 = again.json();
    assert.deepEqual([s2.done, s2.skipped], [0, KEYS.length]);

    // Settings that can lose jobs are named at start, with what to set.
    const admin = new Redis(url);
    await admin.config('SET', 'appendonly', 'no');
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    admin.disconnect();
    const warned = coordinator(url, out);
    assert.equal(await warned.exited, 0, warned.out());
    assert.match(
      warned.out(),
      /^poisonlab: warning: redis: appendonly is 'no', expected 'yes' .*set appendonly yes\)$/m,
    );
    assert.match(
      warned.out(),
      /^poisonlab: warning: redis: maxmemory-policy is 'allkeys-lru', expected 'noeviction'/m,
    );
    await Promise.all([kill9(w1), kill9(w2)]);

    // A worker whose artifacts differ from the first build fails those jobs loudly, in one line. Its cache
    // holds the local sweep's surrogate and poisons (the same bytes: accepted), but C's poison is A's.
    const local = join(dir, 'local');
    const bad = join(dir, 'cache-1c', configHash(config).slice(0, 16));
    mkdirSync(join(bad, 'poisons'), { recursive: true });
    copyFileSync(sweepPaths(local).surrogate, sweepPaths(bad).surrogate);
    copyFileSync(sweepPaths(local).poison('A-C500-r0'), sweepPaths(bad).poison('A-C500-r0'));
    copyFileSync(sweepPaths(local).poison('A-C500-r0'), sweepPaths(bad).poison('C-beta0.2-r0'));
    const w3 = worker(url, join(dir, 'cache-1c'));
    const c3 = cli('sweep', '--config', configPath, '--out', join(dir, 'q1-bad'), '--queue', url);
    assert.equal(await c3.exited, 1, c3.out());
    assert.match(
      c3.out(),
      /^poisonlab: sweep: 2 of 6 runs failed \(first: C-beta0\.2\/w\d+\/r0\/f0: poison C-beta0\.2-r0 of config queue-e2e: .* has content hash [0-9a-f]{12}, the job expects [0-9a-f]{12}: this machine computes other numbers/m,
    );
    assert.deepEqual(
      rows(join(dir, 'q1-bad')).map((x) => x.key),
      reference.map((x) => x.key).filter((k) => !k.startsWith('C-')),
      'the runs whose artifacts match are stored',
    );
    await kill9(w3);
    await stopRedis(r);
  });

  it('a worker killed with kill -9 mid-run has that run finished by another worker, exactly once', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const r = await redis(port, join(dir, 'redis-2'));
    const out = join(dir, 'q2');
    const c = coordinator(url, out);
    // Kill a worker as soon as it starts a run. Should it have finished that run in the moment between its
    // `start` line and the kill (a loaded machine), nothing was in flight: start another one and try again.
    const killedWorkers: Proc[] = [];
    let killed: string | undefined;
    for (let attempt = 0; attempt < 3 && killed === undefined; attempt++) {
      const a = worker(url, join(dir, 'cache-2'));
      killedWorkers.push(a);
      await a.waitFor(/^start \S+\.train\.\S+$/m);
      await kill9(a);
      const started = [...a.out().matchAll(/^start (\S+\.train\.\S+)$/gm)].map((m) => m[1]!);
      killed = started.find((id) => !a.out().includes(`done ${id} `));
    }
    assert.ok(killed, 'a worker was killed with a run in flight');
    const b = worker(url, join(dir, 'cache-2')); // the same cache: it may continue from the run's checkpoint
    assert.equal(await c.exited, 0, c.out());
    assert.deepEqual(rows(out), reference);
    assert.equal(
      b
        .out()
        .split('\n')
        .filter((l) => l.startsWith(`done ${killed} `)).length,
      1,
      'the other worker finished the killed run',
    );
    for (const [key, n] of doneCounts(...killedWorkers, b)) assert.equal(n, 1, `${key} done ${n} times`);
    await kill9(b);
    await stopRedis(r);
  });

  it('a coordinator killed and restarted finishes without redoing finished runs', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const r = await redis(port, join(dir, 'redis-3'));
    const out = join(dir, 'q3');
    const w = worker(url, join(dir, 'cache-3'));
    const c1 = coordinator(url, out);
    await c1.waitFor(/^stored /m);
    await kill9(c1);
    const c2 = coordinator(url, out);
    assert.equal(await c2.exited, 0, c2.out());
    const s = c2.json();
    assert.ok(s.skipped >= 1, 'runs stored by the first coordinator are skipped');
    assert.equal(s.skipped + s.done, KEYS.length);
    assert.deepEqual(rows(out), reference);
    for (const [key, n] of doneCounts(w)) assert.equal(n, 1, `${key} done ${n} times`);
    await kill9(w);
    await stopRedis(r);
  });

  it("the theory overlay is a queue job too: stored once, equal to the local pool's, not enqueued again", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const r = await redis(port, join(dir, 'redis-theory'));
    const toy = applyOverrides(getPreset('theory-toy'), { widths: [10], repetitions: 1 });
    const toyPath = join(dir, 'theory-toy.json');
    writeFileSync(toyPath, JSON.stringify(toy));
    const local = join(dir, 'theory-local');
    assert.equal((await runSweep(toy, { out: local, workers: 1 })).failed, 0);
    const out = join(dir, 'theory-queue');
    const w = worker(url, join(dir, 'cache-theory'));
    const sweep = () => cli('sweep', '--config', toyPath, '--out', out, '--queue', url, '--json');
    const c = sweep();
    assert.equal(await c.exited, 0, c.out());
    const overlay = (folder: string) => {
      const store = SweepStore.open(sweepPaths(folder).db, { readonly: true });
      try {
        return store.theory(configHash(toy));
      } finally {
        store.close();
      }
    };
    assert.ok(overlay(out), 'stored by the coordinator');
    assert.deepEqual(overlay(out), overlay(local));
    const theoryDone = () =>
      w
        .out()
        .split('\n')
        .filter((l) => /^done \S+\.theory\.theory gamma /.test(l)).length;
    assert.equal(theoryDone(), 1);
    const again = sweep();
    assert.equal(await again.exited, 0, again.out());
    assert.equal(theoryDone(), 1, 'a stored overlay is not enqueued again');
    await kill9(w);
    await stopRedis(r);
  });

  it('no Redis at the address, or not a redis:// address: one line, exit 1', async () => {
    const port = await freePort();
    for (const args of [
      ['worker', '--queue', `redis://127.0.0.1:${port}`],
      ['sweep', '--config', configPath, '--out', join(dir, 'none'), '--queue', `redis://127.0.0.1:${port}`],
      ['worker', '--queue', 'http://127.0.0.1:6379'],
    ]) {
      const p = cli(...args);
      assert.equal(await p.exited, 1, p.out());
      assert.match(
        p.out(),
        /^poisonlab: --queue: (cannot connect to redis:\/\/127\.0\.0\.1:\d+ \(.*\); expected a running Redis >= 6\.2|expected redis:\/\/HOST:PORT .*got 'http:\/\/127\.0\.0\.1:6379')$/m,
      );
      assert.equal(
        p
          .out()
          .split('\n')
          .filter((l) => l.startsWith('poisonlab:')).length,
        1,
      );
    }
    assert.ok(!existsSync(join(dir, 'none')), 'a sweep that cannot reach Redis writes nothing');
  });

  it('Redis restarted mid-sweep (appendonly) loses nothing', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const folder = join(dir, 'redis-4');
    let r = await redis(port, folder);
    const out = join(dir, 'q4');
    const w1 = worker(url, join(dir, 'cache-4'));
    const w2 = worker(url, join(dir, 'cache-4'));
    const c = coordinator(url, out);
    await c.waitFor(/^stored /m);
    await stopRedis(r);
    r = await redis(port, folder);
    assert.equal(await c.exited, 0, c.out());
    const s = c.json();
    assert.equal(s.failed, 0);
    assert.deepEqual(rows(out), reference);
    await Promise.all([kill9(w1), kill9(w2)]);
    await stopRedis(r);
  });
});
