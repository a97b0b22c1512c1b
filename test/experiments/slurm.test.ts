/**
 * `poisonlab slurm` against a real single-node Slurm cluster (Debian's slurm-wlm with munge, started per suite in a
 * temporary folder: ./fixtures/slurm-cluster.ts), with the real CLI in every array task, training a tiny MNIST
 * slice. The reference is the local pool's store of the same config. In CI (CI=true) a cluster that cannot start
 * fails the suite; elsewhere the suite says why it skips.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/schema.js';
import { planPoisons, planRuns, selectShard } from '../../src/experiments/plan.js';
import { getPreset } from '../../src/experiments/presets.js';
import { slurmScripts } from '../../src/experiments/slurm.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { CLI_MAIN, nodeArgs } from './fixtures/paths.js';
import { type SlurmCluster, slurmMissing, startSlurm } from './fixtures/slurm-cluster.js';
import { tinyRealConfig } from './fixtures/tiny-real-config.js';

const MISSING = slurmMissing();
// CI installs slurm-wlm and munge (.ci/run), so there a cluster that cannot start is a failure.
const SKIP = MISSING === undefined || process.env['CI'] ? false : MISSING;

const RAW = tinyRealConfig('slurm-e2e');
const config = parseConfig(RAW, 'test');
const KEYS = planRuns(config).map((r) => r.key);
const POISONS = planPoisons(config, planRuns(config)).map((p) => p.key);

// Stopping a task mid-run needs runs that last: clean runs only, of 100 epochs each (no early stop), one per task.
// (The tiny config's runs end within a second or two, so a stop sent after one started often found it done.)
const STOP_RAW = {
  ...tinyRealConfig('slurm-stop'),
  regimes: [{ regime: 'clean' }],
  training: { lr: 0.1, batchSize: 32, maxEpochs: 100, patience: 100 },
};
const STOP_KEYS = planRuns(parseConfig(STOP_RAW, 'test')).map((r) => r.key);

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-slurm-'));
const configPath = join(dir, 'sweep.json');
const stopConfigPath = join(dir, 'sweep-stop.json');
let cluster: SlurmCluster | undefined;
let reference: Row[] = [];

interface Row {
  key: string;
  testAccuracy: number;
  testLoss: number;
  epochs: number;
  bestEpoch: number;
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
      }))
      .sort((a, b) => a.key.localeCompare(b.key));
  } finally {
    store.close();
  }
}

/** Run the CLI to its end; exit code and output. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs(CLI_MAIN, ...args), {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
]);

/** Wait until every task of a job has ended; its records. */
async function ended(c: SlurmCluster, job: string, timeoutMs = 400_000): Promise<Record<string, string>[]> {
  const t0 = Date.now();
  for (;;) {
    const jobs = c.jobs(job);
    if (jobs.length > 0 && jobs.every((j) => FINAL.has(j['JobState']!))) return jobs;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `job ${job} still ${jobs.map((j) => j['JobState']).join(', ')} after ${timeoutMs / 1000} s`,
      );
    await sleep(500);
  }
}

/** Wait until a shard's log matches. */
async function logMatch(file: string, re: RegExp, timeoutMs = 300_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (re.test(text)) return text;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`${file}: no ${re} after ${timeoutMs / 1000} s:\n${text}`);
    await sleep(200);
  }
}

/** Wait until a task's sweep has stored an epoch of a run it has not finished; how many epochs. */
async function epochStored(out: string, timeoutMs = 300_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const db = sweepPaths(out).db;
    let n = 0;
    try {
      const store = SweepStore.open(db, { readonly: true });
      try {
        n = (
          store.db
            .prepare('SELECT count(*) AS n FROM epochs WHERE run_key NOT IN (SELECT run_key FROM runs)')
            .get() as { n: number }
        ).n;
      } finally {
        store.close();
      }
    } catch {
      // not created yet, or its tables not yet
    }
    if (n > 0) return n;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${out}: no epoch stored after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

const logsOf = (d: string) => join(d, 'slurm', 'logs');
const shardLog = (d: string, i: number) => join(logsOf(d), `shard-${i}.log`);
function allLogs(d: string): string {
  return readdirSync(logsOf(d))
    .filter((f) => f.startsWith('shard-'))
    .map((f) => readFileSync(join(logsOf(d), f), 'utf8'))
    .join('\n');
}
/** How many lines of the logs match. */
const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function submit(
  c: SlurmCluster,
  d: string,
  tasks: number,
  ...extra: string[]
): Promise<{ arrayJob: string; mergeJob: string; submittedAt: number }> {
  return submitConfig(configPath, c, d, tasks, ...extra);
}

async function submitConfig(
  path: string,
  c: SlurmCluster,
  d: string,
  tasks: number,
  ...extra: string[]
): Promise<{ arrayJob: string; mergeJob: string; submittedAt: number }> {
  const submittedAt = Date.now();
  const r = await cli(
    c.env,
    'slurm',
    '--config',
    path,
    '--dir',
    d,
    '--tasks',
    String(tasks),
    '--json',
    ...extra,
  );
  assert.equal(r.code, 0, r.out);
  return { ...(JSON.parse(r.out) as { arrayJob: string; mergeJob: string }), submittedAt };
}

/** Each run stored exactly once in all the logs (requeues append to them). */
function assertStoredOnce(logs: string, keys = KEYS): void {
  for (const key of keys)
    assert.equal(count(logs, new RegExp(`^stored ${esc(key)} `)), 1, `${key} stored once:\n${logs}`);
}

after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('poisonlab slurm: scripts', () => {
  before(() => writeFileSync(configPath, JSON.stringify(RAW)));

  it('--dry-run prints the array and merge scripts in Slurm terms and submits nothing', async () => {
    const d = join(dir, 'dry');
    const r = await cli(
      process.env,
      ...[
        'slurm',
        '--config',
        configPath,
        '--dir',
        d,
        '--tasks',
        '3',
        '--partition',
        'short',
        '--time',
        '1:00:00',
      ],
      ...['--cpus-per-task', '2', '--mem', '2G', '--throttle', '2', '--sbatch=--account=lab', '--dry-run'],
    );
    assert.equal(r.code, 0, r.out);
    for (const line of [
      '#SBATCH --array=0-2%2',
      '#SBATCH --partition=short',
      '#SBATCH --time=1:00:00',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem=2G',
      '#SBATCH --account=lab',
      '#SBATCH --requeue',
      '#SBATCH --signal=B:USR1@120',
    ])
      assert.ok(r.out.includes(`${line}\n`), `${line} in:\n${r.out}`);
    assert.match(r.out, /sweep --config \S+ --out \S+\/shard-\$task --shard "\$shard"/);
    assert.match(r.out, /shard="\$task\/3"/);
    assert.match(r.out, /merge --complete \S+\/merged \S+\/shard-\*/);
    assert.equal(existsSync(d), false, 'a dry run writes nothing');
  });

  it('options outside Slurm terms are one-line errors naming the flag', async () => {
    for (const [flag, value, re] of [
      ['--time', '2days', /^poisonlab: --time: '2days' is not a Slurm time, expected minutes/m],
      ['--mem', '16 GB', /^poisonlab: --mem: '16 GB' is not a Slurm memory size, expected/m],
      ['--tasks', '99', /^poisonlab: --tasks: 99 array tasks for 6 runs, expected 1 to 6/m],
      ['--sbatch', 'account=lab', /^poisonlab: --sbatch: 'account=lab' is not an sbatch option, expected/m],
    ] as const) {
      const args = ['slurm', '--config', configPath, '--dir', join(dir, 'bad'), '--tasks', '2', '--dry-run'];
      const r = await cli(process.env, ...args, `${flag}=${value}`);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, re);
      assert.equal(r.out.trim().split('\n').length, 1, r.out);
    }
  });

  it('without sbatch on the PATH, submitting is one line naming it; nothing is submitted', async () => {
    const r = await cli(
      { ...process.env, PATH: '/nonexistent' },
      ...['slurm', '--config', configPath, '--dir', join(dir, 'no-sbatch'), '--tasks', '2'],
    );
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /^poisonlab: slurm: cannot run sbatch \(ENOENT\); expected Slurm's sbatch on the PATH/m,
    );
    assert.equal(r.out.trim().split('\n').length, 1, r.out);
  });

  it('docs/scale/*.sbatch are the scripts it writes for the paper-mnist example', () => {
    const s = slurmScripts(getPreset('paper-mnist'), {
      dir: '/shared/runs/paper-mnist',
      tasks: 100,
      cpusPerTask: 2,
      mem: '16G',
      time: '2-00:00:00',
      throttle: 50,
      cache: '/shared/poisonlab-cache',
      signalSeconds: 120,
      command: ['/usr/bin/node', '/home/you/poisonlab/dist/src/cli/main.js'],
      workdir: '/home/you/poisonlab',
    });
    // Lines 2-4 of each say how they were generated.
    const doc = (name: string) =>
      readFileSync(fileURLToPath(new URL(`../../docs/scale/${name}`, import.meta.url)), 'utf8')
        .split('\n')
        .filter((_, i) => i < 1 || i > 3)
        .join('\n');
    assert.equal(doc('slurm-array.sbatch'), s.array);
    assert.equal(doc('slurm-merge.sbatch'), s.merge);
  });

  it('the config written for the tasks has the config hash of the sweep', () => {
    const s = slurmScripts(config, {
      dir: join(dir, 'x'),
      tasks: 2,
      cpusPerTask: 1,
      signalSeconds: 120,
      command: ['node', 'main.js'],
      workdir: dir,
    });
    assert.deepEqual(parseConfig(JSON.parse(s.configJson), 'x'), config);
  });
});

describe('poisonlab slurm on a real Slurm cluster', { skip: SKIP, timeout: 900_000 }, () => {
  before(async () => {
    writeFileSync(configPath, JSON.stringify(RAW));
    chmodSync(dir, 0o755); // the cluster's munged runs as the munge user, below this folder
    cluster = await startSlurm(join(dir, 'cluster'));
    const local = join(dir, 'local');
    const s = await runSweep(config, { out: local, workers: 2 });
    assert.equal(s.failed, 0, JSON.stringify(s.failures));
    reference = rows(local);
    assert.equal(reference.length, KEYS.length);
  });

  it("an array of 3 tasks plus the merge equals the local pool's store; artifacts are built once; a re-submission redoes nothing", async (t) => {
    const c = cluster!;
    const d = join(dir, 'array');
    const { arrayJob, mergeJob, submittedAt } = await submit(c, d, 3);
    const tasks = await ended(c, arrayJob);
    const merge = (await ended(c, mergeJob))[0]!;
    assert.deepEqual(
      tasks.map((j) => j['JobState']),
      ['COMPLETED', 'COMPLETED', 'COMPLETED'],
      readFileSync(shardLog(d, 0), 'utf8'),
    );
    assert.equal(merge['JobState'], 'COMPLETED', readFileSync(join(logsOf(d), 'merge.log'), 'utf8'));
    assert.deepEqual(rows(join(d, 'merged')), reference);
    const logs = allLogs(d);
    assertStoredOnce(logs);
    // Each artifact built by one task; the others that needed it waited or reused it.
    assert.equal(count(logs, /^artifact surrogate: built /), 1, logs);
    for (const p of POISONS)
      assert.equal(count(logs, new RegExp(`^artifact poison ${esc(p)}: built `)), 1, logs);
    const saved = count(logs, /^artifact .*: (reused|reused-after-wait) /);
    const firstStart = Math.min(...tasks.map((j) => Date.parse(`${j['StartTime']}Z`)));
    t.diagnostic(
      `submit to first task start ${((firstStart - submittedAt) / 1000).toFixed(0)} s (second resolution); ` +
        `tasks ran ${tasks.map((j) => j['RunTime']).join(', ')}; builds saved by the lock: ${saved}`,
    );

    // The same folder again: every task finds its runs stored and trains nothing; the merge is the same.
    const again = await submit(c, d, 3);
    const tasks2 = await ended(c, again.arrayJob);
    assert.equal((await ended(c, again.mergeJob))[0]!['JobState'], 'COMPLETED');
    assert.deepEqual(rows(join(d, 'merged')), reference);
    assertStoredOnce(allLogs(d));
    t.diagnostic(`re-submission (nothing to do): tasks ran ${tasks2.map((j) => j['RunTime']).join(', ')}`);
  });

  it('a task requeued mid-run and one told to stop by its --signal finish with the same numbers, each run stored once', async (t) => {
    const c = cluster!;
    writeFileSync(stopConfigPath, JSON.stringify(STOP_RAW));
    const stopReference = await (async () => {
      const local = join(dir, 'stop-local');
      const s = await runSweep(parseConfig(STOP_RAW, 'test'), { out: local, workers: 2 });
      assert.equal(s.failed, 0, JSON.stringify(s.failures));
      return rows(local);
    })();
    assert.equal(stopReference.length, 2);
    const d = join(dir, 'requeue');
    const { arrayJob, mergeJob } = await submitConfig(stopConfigPath, c, d, 2);
    // Each task has one run of 100 epochs, interrupted as soon as it has stored its first ones (both watched at
    // once: a run lasts seconds). Task 0: requeued (what `scontrol requeue` and a node failure do). Task 1: USR1 to
    // its batch shell, as --signal=B:USR1@120 sends before the time limit.
    const interrupt = async (task: number, cmd: string, ...args: string[]) => {
      const epochs = await epochStored(join(d, `shard-${task}`));
      c.run(cmd, ...args);
      return epochs;
    };
    const [inFlight0, inFlight1] = await Promise.all([
      interrupt(0, 'scontrol', 'requeue', `${arrayJob}_0`),
      interrupt(1, 'scancel', '--batch', '--signal=USR1', `${arrayJob}_1`),
    ]);
    await logMatch(shardLog(d, 1), /stopped before its time limit; requeueing/);
    const tasks = await ended(c, arrayJob);
    assert.deepEqual(
      tasks.map((j) => j['JobState']),
      ['COMPLETED', 'COMPLETED'],
    );
    assert.equal((await ended(c, mergeJob))[0]!['JobState'], 'COMPLETED');
    assert.deepEqual(rows(join(d, 'merged')), stopReference);
    const logs = allLogs(d);
    assertStoredOnce(logs, STOP_KEYS);
    for (const i of [0, 1]) assert.match(readFileSync(shardLog(d, i), 'utf8'), /restart 1\)/);
    const signalled = readFileSync(shardLog(d, 1), 'utf8');
    assert.match(signalled, /^poisonlab: sweep: SIGUSR1: stopping/m);
    // The stopped run checkpointed after its epoch and the requeued task continued it from there. (The run killed
    // by the requeue had no checkpoint yet, written at most once a minute, and started over.) Nothing was started
    // after the stop, and nothing failed.
    assert.match(signalled, /^stored \S+ .* resumed after epoch \d+$/m, signalled);
    assert.doesNotMatch(logs, /^failed: /m, logs);
    t.diagnostic(
      `interrupted after epochs ${inFlight0}, ${inFlight1}; restarts: ${tasks.map((j) => j['Restarts']).join(', ')}`,
    );
  });

  it('two tasks racing for the same artifacts build each once, the holder killed once mid-build', async (t) => {
    const c = cluster!;
    const d = join(dir, 'race');
    const shards = [0, 1].map((i) => selectShard(planRuns(config), { index: i, count: 2 }));
    assert.ok(
      shards.every((s) => s.some((r) => r.poisonKey?.startsWith('A-'))),
      'both shards need the surrogate and the same poison A',
    );
    const { arrayJob, mergeJob } = await submit(c, d, 2, '--cache', join(dir, 'cache-race'));
    // Whoever takes the surrogate's lock first is killed (-9: no cleanup) while it builds.
    const holder = await Promise.race(
      [0, 1].map((i) => logMatch(shardLog(d, i), /^artifact surrogate: building$/m).then(() => i)),
    );
    const other = 1 - holder;
    await logMatch(shardLog(d, other), /^artifact surrogate: waiting$/m);
    c.run('scancel', '--full', '--signal=KILL', `${arrayJob}_${holder}`);
    // The other takes the lock over once it has gone stale, and builds.
    await logMatch(shardLog(d, other), /^artifact surrogate: building$/m);
    await ended(c, `${arrayJob}_${holder}`);
    c.run('scontrol', 'requeue', `${arrayJob}_${holder}`);
    const tasks = await ended(c, arrayJob);
    assert.deepEqual(
      tasks.map((j) => j['JobState']),
      ['COMPLETED', 'COMPLETED'],
    );
    assert.equal((await ended(c, mergeJob))[0]!['JobState'], 'COMPLETED');
    assert.deepEqual(rows(join(d, 'merged')), reference);
    const logs = allLogs(d);
    assertStoredOnce(logs);
    assert.equal(count(logs, /^artifact surrogate: built /), 1, logs);
    assert.equal(
      count(logs, /^artifact surrogate: building$/),
      2,
      'started twice: the holder was killed once',
    );
    for (const p of POISONS)
      assert.equal(count(logs, new RegExp(`^artifact poison ${esc(p)}: built `)), 1, logs);
    t.diagnostic(`builds: ${count(logs, /: built /)}, reused: ${count(logs, /: reused/)}`);
  });
});
