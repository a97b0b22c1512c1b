/**
 * The layer rules of docs/architecture.md, read from the import statements of src/ (type-only imports too):
 * every folder has a level, and every import goes to a strictly lower one, so the rules hold transitively; no
 * file imports itself back through others; and `report` and `results`, loaded in a fresh process, load no tfjs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module a file imports (static imports, re-exports, dynamic imports), relative ones as src/ paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? relative(SRC, resolve(dirname(file), s)) : s));
}

/** `file: import` for every import of a file under `folder` that lands in one of `banned` (src/-relative). */
function violations(folder: string, banned: (target: string) => boolean): string[] {
  return tsFiles(join(SRC, folder)).flatMap((f) =>
    importsOf(f)
      .filter(banned)
      .map((i) => `${relative(SRC, f)}: ${i}`),
  );
}

const under = (target: string, ...folders: string[]) =>
  folders.some((d) => target === d || target.startsWith(`${d}/`));
/** Whether an import lands in src/ (a relative import), as opposed to a package. */
const SRC_FOLDERS = readdirSync(SRC);
const internal = (target: string) => SRC_FOLDERS.includes(target.split('/')[0]!);

test('the import scanner sees static, re-exported, side-effect and dynamic imports', () => {
  const file = join(SRC, 'report', 'x.ts');
  const text = [
    "import { a } from '../experiments/plan.js';",
    "import type {\n  B,\n} from '../results/index.js';",
    "export { c } from './csv.js';",
    "import '../backend/index.js';",
    "const m = await import('../data/index.js');",
    "import * as vl from 'vega-lite';",
  ].join('\n');
  assert.deepEqual(importsOf(file, text), [
    'experiments/plan.js',
    'results/index.js',
    'report/csv.js',
    'vega-lite',
    'backend/index.js',
    'data/index.js',
  ]);
});

test('report imports nothing from experiments', () => {
  assert.deepEqual(
    violations('report', (t) => under(t, 'experiments')),
    [],
  );
});

test('report neither loads data nor computes: no data, backend, models, train or margin estimator', () => {
  assert.deepEqual(
    violations('report', (t) =>
      under(t, 'data', 'backend', 'models', 'train', 'theory', 'attacks', 'defences'),
    ),
    [],
  );
});

test('results is a leaf: it imports only the config schema and util', () => {
  assert.deepEqual(
    violations('results', (t) => internal(t) && !under(t, 'results', 'config', 'util')),
    [],
  );
});

test('attacks train nothing: an attack receives a trained surrogate (surrogate training lives in train)', () => {
  assert.deepEqual(
    violations('attacks', (t) => under(t, 'train')),
    [],
  );
});

test('experiments imports neither report nor the front ends (cli, where the progress view lives, and serve)', () => {
  assert.deepEqual(
    violations('experiments', (t) => under(t, 'cli', 'serve', 'report')),
    [],
  );
});

/**
 * The levels of docs/architecture.md's layer table: a folder imports only folders of lower levels (and itself).
 * An import to a strictly lower level everywhere means that no chain of imports ever climbs.
 */
export const LAYER_LEVELS: Record<string, number> = {
  util: 0,
  io: 1,
  backend: 1,
  theory: 1,
  data: 2,
  models: 2,
  train: 3,
  attacks: 4,
  defences: 4,
  config: 5,
  results: 6,
  report: 7,
  experiments: 7,
  bench: 7,
  serve: 8,
  cli: 9,
  'index.ts': 10,
};

/** Every .ts file of src/ and the src/ files it imports (relative imports, type-only ones included). */
function importGraph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of tsFiles(SRC)) {
    const rel = relative(SRC, f);
    g.set(
      rel,
      importsOf(f)
        .filter(internal)
        .map((t) => t.replace(/\.js$/, '.ts')),
    );
  }
  return g;
}

test('every folder of src/ has a level, and every import goes to a lower level (so the layers hold transitively)', () => {
  const folders = SRC_FOLDERS.filter((f) => f !== '.DS_Store');
  assert.deepEqual(
    folders.filter((f) => LAYER_LEVELS[f] === undefined),
    [],
    'a folder without a level (add it to LAYER_LEVELS and to docs/architecture.md)',
  );
  const up: string[] = [];
  for (const [file, targets] of importGraph()) {
    const from = file.split('/')[0]!;
    for (const t of targets) {
      const to = t.split('/')[0]!;
      if (to !== from && LAYER_LEVELS[to]! >= LAYER_LEVELS[from]!) up.push(`${file} -> ${t}`);
    }
  }
  assert.deepEqual(up, []);
});

test('the documented layer table matches LAYER_LEVELS: docs/architecture.md lists each folder with its level', () => {
  const doc = readFileSync(join(SRC, '..', 'docs', 'architecture.md'), 'utf8');
  for (const [folder, level] of Object.entries(LAYER_LEVELS)) {
    if (folder === 'index.ts') continue;
    // a row `| level | ... src/folder ... |` (several folders may share a row)
    const row = new RegExp(`\\| ${level} +\\| [^|\\n]*\`src/${folder}\``);
    assert.match(doc, row, `docs/architecture.md: src/${folder} at level ${level}`);
  }
});

test('no import cycle between files, type-only imports included', () => {
  const g = importGraph();
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (v: string) => {
    state.set(v, 1);
    stack.push(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (state.get(w) === 1) cycles.push([...stack.slice(stack.indexOf(w)), w].join(' -> '));
      else if (!state.has(w)) visit(w);
    }
    stack.pop();
    state.set(v, 2);
  };
  for (const v of g.keys()) if (!state.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});

test('report and results load no tfjs (nor attack or defence code) in a fresh process', () => {
  for (const entry of ['report', 'results']) {
    const url = new URL(`../src/${entry}/index.ts`, import.meta.url).href;
    // A module hook (on its loader thread) posts every URL the import resolves; the child prints them.
    const hook = [
      'let port;',
      'export function initialize(d) { port = d.port; }',
      'export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }',
    ].join('\n');
    const script = [
      "import { register } from 'node:module';",
      "import { MessageChannel } from 'node:worker_threads';",
      'const { port1, port2 } = new MessageChannel();',
      'const seen = [];',
      "port1.on('message', (u) => seen.push(u));",
      `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)}, { data: { port: port2 }, transferList: [port2] });`,
      `await import(${JSON.stringify(url)});`,
      'await new Promise((r) => setTimeout(r, 300));',
      'port1.close();',
      'console.log(JSON.stringify(seen));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const loaded = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as string[];
    assert.ok(loaded.length > 5, `${entry}: the hook saw the modules (${loaded.length})`);
    const heavy = loaded.filter((u) =>
      /@tensorflow|\/src\/(attacks|defences|models|backend|train)\//.test(u),
    );
    assert.deepEqual(
      heavy,
      [],
      `${entry} loads no tfjs and no attack, defence, model, backend or training code`,
    );
  }
});
