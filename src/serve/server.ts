/**
 * `poisonlab serve`: a read-only HTTP server (node:http, no framework) for the live dashboard of one or more
 * sweep folders. GET only; a fixed set of routes: the page and its scripts (./assets), JSON views of the
 * sweeps (./data) and a Server-Sent Events stream that says when a sweep's store changed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WIDTH_METRICS } from '../report/curve.js';
import { check, PoisonlabError } from '../util/errors.js';
import { type Asset, loadAssets } from './assets.js';
import { SweepSource, widthSpec } from './data.js';

export interface ServeOptions {
  /** Sweep folders (each holding runs.sqlite). */
  dirs: readonly string[];
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** How often the stores are checked for changes (default 1000 ms). */
  pollMs?: number;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Scripts only from this server; vega compiles its expressions with Function (hence unsafe-eval). */
const CSP =
  "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Start the dashboard server; resolves once it listens. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  check(opts.dirs.length > 0, 'serve: expected at least one sweep folder');
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  check(
    Number.isInteger(port) && port >= 0 && port <= 65535,
    `--port ${port}: expected an integer in 0..65535`,
  );
  const assets = loadAssets();
  const sources = opts.dirs.map((d, i) => new SweepSource(d, i));
  const clients = new Set<ServerResponse>();
  const versions = sources.map((s) => s.version());
  const loopbackOnly = LOOPBACK.has(host);

  const poll = setInterval(() => {
    sources.forEach((s, i) => {
      let v: number;
      try {
        v = s.version();
      } catch {
        return; // busy or briefly unreadable: try again on the next tick
      }
      if (v === versions[i]) return;
      versions[i] = v;
      for (const c of clients) c.write(`event: change\ndata: ${JSON.stringify({ sweep: i })}\n\n`);
    });
  }, opts.pollMs ?? 1000);
  // Statuses also change with time alone (a dead sweep's heartbeat goes stale), and proxies like traffic.
  const tick = setInterval(() => {
    for (const c of clients) c.write('event: tick\ndata: {}\n\n');
  }, 15_000);

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : e instanceof PoisonlabError ? 400 : 500;
      const message = e instanceof Error ? e.message : String(e);
      sendJson(res, status, { error: message });
    }
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, `${req.method}: this server is read-only (GET only)`);
    }
    // DNS rebinding: a loopback-only server answers only requests addressed to the loopback.
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (loopbackOnly && !LOOPBACK.has(hostHeader))
      throw new HttpError(403, `host ${hostHeader}: expected a loopback address`);
    const raw = req.url ?? '/';
    // Refuse dot segments however they are spelled, before any normalisation could resolve them.
    if (/(^|\/|%2f|\\|%5c)(\.|%2e){1,2}(\/|%2f|\\|%5c|$|\?)/i.test(raw))
      throw new HttpError(404, 'not found');
    const url = new URL(raw, 'http://localhost');
    const path = url.pathname;
    const asset = assets.get(path);
    if (asset) {
      sendAsset(res, asset, req.method === 'HEAD');
      return;
    }
    if (path === '/api/sweeps') {
      sendJson(res, 200, {
        sweeps: sources.map((s) => s.overview()),
        metrics: Object.entries(WIDTH_METRICS).map(([name, m]) => ({ name, title: m.title })),
      });
      return;
    }
    if (path === '/api/width') {
      const picked = (url.searchParams.get('sweeps') ?? '0').split(',').map((s) => source(s));
      const band = url.searchParams.get('band') ?? 'std';
      check(band === 'std' || band === 'ci95', `band ${band}: expected std or ci95`);
      sendJson(res, 200, widthSpec(picked, url.searchParams.get('metric') ?? 'testAccuracy', band));
      return;
    }
    if (path === '/api/events') {
      openEvents(req, res);
      return;
    }
    const m = /^\/api\/sweeps\/([^/]+)\/runs(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const s = source(m[1]!);
      if (m[2] === undefined) {
        sendJson(res, 200, s.runs());
        return;
      }
      const key = decodeURIComponent(m[2]);
      const detail = s.run(key);
      if (!detail) throw new HttpError(404, `run ${key}: no such run in sweep ${s.index}`);
      sendJson(res, 200, detail);
      return;
    }
    throw new HttpError(404, 'not found');
  }

  function source(text: string): SweepSource {
    const i = Number(text);
    const s = /^\d+$/.test(text) ? sources[i] : undefined;
    if (!s) throw new HttpError(404, `sweep ${text}: expected an index in 0..${sources.length - 1}`);
    return s;
  }

  function openEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write('retry: 2000\nevent: hello\ndata: {}\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        new PoisonlabError(
          e.code === 'EADDRINUSE'
            ? `--port ${port}: address ${host}:${port} is in use (expected a free port; 0 picks one)`
            : `--host ${host}: cannot listen (${e.message})`,
        ),
      );
    });
    server.listen(port, host, () => resolve());
  }).catch((e) => {
    clearInterval(poll);
    clearInterval(tick);
    for (const s of sources) s.close();
    throw e;
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(poll);
        clearInterval(tick);
        for (const c of clients) c.end();
        clients.clear();
        server.closeAllConnections();
        server.close(() => {
          for (const s of sources) s.close();
          resolve();
        });
      }),
  };
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function sendAsset(res: ServerResponse, a: Asset, head: boolean): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': a.type, 'Content-Length': a.body.length });
  res.end(head ? undefined : a.body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
