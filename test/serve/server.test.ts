import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { test } from 'node:test';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';
import { finishedSweep, finishRun, PAPER_PROTOCOL, runningSweep } from './fixtures.js';

/** A raw HTTP request: the path goes out exactly as written (fetch would normalise dot segments). */
function raw(
  server: RunningServer,
  path: string,
  opts: { method?: string; host?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: opts.method ?? 'GET',
        headers: { host: opts.host ?? `127.0.0.1:${server.port}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function json(server: RunningServer, path: string) {
  const r = await raw(server, path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return JSON.parse(r.body);
}

test('serve: JSON views of a finished and a running sweep, on 127.0.0.1 by default', async () => {
  const fin = finishedSweep();
  const run = runningSweep(8);
  const server = await startServer({ dirs: [fin.dir, run.dir], port: 0 });
  try {
    assert.equal(server.host, '127.0.0.1');
    const { sweeps, metrics } = await json(server, '/api/sweeps');
    assert.deepEqual(
      sweeps.map((s: Record<string, number>) => [
        s['done'],
        s['running'],
        s['failed'],
        s['left'],
        s['workers'],
      ]),
      [
        [18, 0, 0, 0, 0],
        [8, 2, 1, 7, 2],
      ],
    );
    assert.ok(metrics.some((m: { name: string }) => m.name === 'testAccuracy'));
    const spec = await json(server, '/api/width?sweeps=0&metric=testAccuracy&band=ci95');
    assert.equal(spec.data.values.length, 9, '3 regimes x 3 widths');
    const overlay = await json(server, '/api/width?sweeps=0,1&metric=testLoss');
    const series = new Set(overlay.data.values.map((v: { regime: string }) => v.regime));
    assert.ok([...series].some((s) => String(s).startsWith('0: finished · ')));
    assert.ok([...series].some((s) => String(s).startsWith('1: running · ')));
    const rows = await json(server, '/api/sweeps/1/runs');
    assert.equal(rows.length, 18);
    const key = run.plan[0]!.key;
    const detail = await json(server, `/api/sweeps/1/runs/${encodeURIComponent(key)}`);
    assert.equal(detail.row.status, 'done');
    assert.equal(detail.epochs.length, 3);
    assert.equal(detail.config.name, 'running');
    const bad = await raw(server, '/api/width?metric=nope');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /^metric nope: expected one of testAccuracy, /);
    assert.equal((await raw(server, '/api/sweeps/7/runs')).status, 404);
    assert.equal((await raw(server, '/api/sweeps/1/runs/no%2Fsuch')).status, 404);
    const page = await raw(server, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script src="\/vendor\/vega-embed\.min\.js"><\/script>/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no script or style from elsewhere');
    assert.equal((await raw(server, '/vendor/vega.min.js')).status, 200);
  } finally {
    await server.close();
    run.store.close();
  }
});

test("serve: the width curve of a paper-protocol sweep has the figure's dashed curves, each once", async () => {
  const paper = finishedSweep('paper', 0, PAPER_PROTOCOL);
  const again = finishedSweep('again', 0, PAPER_PROTOCOL);
  const other = finishedSweep('other');
  const server = await startServer({ dirs: [paper.dir, again.dir, other.dir], port: 0 });
  type Spec = {
    title: { subtitle?: string[] };
    layer: { name?: string; data?: { values: { regime: string; figure: string }[] } }[];
  };
  const paperValues = (spec: Spec) => spec.layer.find((l) => l.name === 'paper')?.data?.values;
  const seriesOf = (spec: Spec) => [...new Set(paperValues(spec)?.map((v) => `${v.regime}=${v.figure}`))];
  try {
    const one: Spec = await json(server, '/api/width?sweeps=0&metric=testAccuracy');
    // clean and A-C500 are in the figure; C-beta0.2 is not (the figure's beta is 0.3).
    assert.deepEqual(seriesOf(one), ['clean=clean', 'A-C500=A']);
    assert.ok(one.title.subtitle?.some((l) => /^Dashed: the paper's figure, read by eye/.test(l)));
    assert.ok(one.title.subtitle?.some((l) => /^Shows a cut: 300 training images/.test(l)));
    // Two sweeps overlaid: each of the figure's curves once, beside the first sweep's series.
    const both: Spec = await json(server, '/api/width?sweeps=0,1,2&metric=testAccuracy');
    assert.deepEqual(seriesOf(both), ['0: paper · clean=clean', '0: paper · A-C500=A']);
    // Another metric, or a sweep off the paper's protocol: nothing of the figure.
    assert.equal(paperValues(await json(server, '/api/width?sweeps=0&metric=seconds')), undefined);
    const off: Spec = await json(server, '/api/width?sweeps=2&metric=testAccuracy');
    assert.equal(paperValues(off), undefined);
    assert.equal(off.title.subtitle, undefined);
  } finally {
    await server.close();
  }
});

test('serve is read-only: no method but GET, no path outside its routes (path traversal), no foreign Host', async () => {
  const fin = finishedSweep();
  const db = sweepPaths(fin.dir).db;
  const before = statSync(db).mtimeMs;
  const server = await startServer({ dirs: [fin.dir], port: 0 });
  try {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await raw(server, '/api/sweeps', { method });
      assert.equal(r.status, 405, method);
      assert.match(JSON.parse(r.body).error, /read-only/);
    }
    for (const path of [
      '/api/../../etc/passwd',
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/vendor/..%2f..%2f..%2fpackage.json',
      '/vendor/../package.json',
      '/..%5c..%5cetc%5cpasswd',
      '/api/sweeps/0/runs/..%2f..%2f..%2fetc%2fpasswd',
      '/runs.sqlite',
      `/${db}`,
      '/etc/passwd',
      '//etc/passwd',
    ]) {
      const r = await raw(server, path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /root:|"name": ?"poisonlab"|SQLite format/, path);
    }
    assert.equal((await raw(server, '/api/sweeps', { host: 'evil.example:80' })).status, 403);
  } finally {
    await server.close();
  }
  const store = SweepStore.open(db, { readonly: true });
  assert.equal(store.runs().length, 18, 'the runs are untouched');
  store.close();
  assert.ok(statSync(db).mtimeMs === before, 'the database file was not written');
});

test('serve pushes a change event when the sweep stores a run', async () => {
  const run = runningSweep(8);
  const server = await startServer({ dirs: [run.dir], port: 0, pollMs: 100 });
  try {
    const event = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events' }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.includes('event: hello') && !text.includes('stored')) {
            text += 'stored';
            finishRun(run.store, run.hash, run.plan[8]!);
          }
          const m = /event: change\ndata: (.*)\n/.exec(text);
          if (m) {
            resolve(m[1]!);
            req.destroy();
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(JSON.parse(event), { sweep: 0 });
  } finally {
    await server.close();
    run.store.close();
  }
});

test('serve: bad folders and busy ports are one-line errors', async () => {
  await assert.rejects(
    startServer({ dirs: ['/nonexistent/sweep'], port: 0 }),
    (e: Error) => e instanceof PoisonlabError && /no sweep database here/.test(e.message),
  );
  const fin = finishedSweep();
  const a = await startServer({ dirs: [fin.dir], port: 0 });
  try {
    await assert.rejects(
      startServer({ dirs: [fin.dir], port: a.port }),
      (e: Error) =>
        e instanceof PoisonlabError && /is in use \(expected a free port; 0 picks one\)/.test(e.message),
    );
  } finally {
    await a.close();
  }
});

test('poisonlab serve (the CLI) prints its URL and serves until stopped', { timeout: 60_000 }, async () => {
  const fin = finishedSweep();
  const child = spawn(process.execPath, nodeArgs(CLI_MAIN, 'serve', fin.dir, '--port', '0'), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        out += c;
        const m = /poisonlab serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const res = await fetch(`${url}api/sweeps`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sweeps: unknown[] }).sweeps.length, 1);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  const bad = spawn(process.execPath, nodeArgs(CLI_MAIN, 'serve', '/nonexistent/sweep'), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  bad.stderr.setEncoding('utf8');
  bad.stderr.on('data', (c: string) => {
    err += c;
  });
  const code = await new Promise((r) => bad.once('exit', r));
  assert.equal(code, 1);
  assert.match(err, /^poisonlab: \/nonexistent\/sweep\/runs\.sqlite: no sweep database here/);
  assert.equal(err.trim().split('\n').length, 1);
});
