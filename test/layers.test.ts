/**
 * The layer rules of docs/architecture.md, read from the import statements of src/: `report` reads results and
 * never reaches into `experiments` (nor loads data or computes), and `results` is a leaf beneath both.
 */
import assert from 'node:assert/strict';
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

test('experiments imports neither report nor the front ends (cli, where the progress view lives, and serve)', () => {
  assert.deepEqual(
    violations('experiments', (t) => under(t, 'cli', 'serve', 'report')),
    [],
  );
});
