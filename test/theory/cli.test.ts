import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { theoryBounds } from '../../src/theory/bounds.js';

const here = fileURLToPath(import.meta.url);
// The child is this folder's theory-cli-main, as .ts under tsx or as the compiled .js.
const child = join(dirname(here), `theory-cli-main${extname(here)}`);
const loader = extname(here) === '.ts' ? ['--import', 'tsx'] : [];

/** Run `poisonlab <args>` (the theory commands only) in a child process. */
function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...loader, child, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run and parse the one JSON object on stdout. */
// biome-ignore lint/suspicious/noExplicitAny: the parsed JSON is checked field by field below
function runJson(args: string[]): any {
  const r = run([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('poisonlab theory bounds', () => {
  it('prints exactly one JSON object with the calculator numbers (Infinity as null)', () => {
    const args = ['--regime', 'A', '--n', '60000', '--d', '784', '--gamma', '0.1', '--delta', '0.05'];
    const out = runJson(['theory', 'bounds', ...args, '--budget', '0.005', '--width', '100']);
    const ref = theoryBounds({
      regime: 'A',
      n: 60000,
      d: 784,
      gamma: 0.1,
      delta: 0.05,
      budget: 0.005,
      width: 100,
    });
    assert.equal(out.errorBound, ref.errorBound);
    assert.equal(out.widthMin, ref.widthMin);
    assert.equal(out.widthMax, ref.widthMax);
    assert.equal(out.maxOverallBudget, ref.maxOverallBudget);
    const free = runJson(['theory', 'bounds', ...args, '--budget', '0']);
    assert.equal(free.widthMax, null);
  });

  it('gives maxBudget (B) and maxBeta (C) for a width, and a readable summary without --json', () => {
    const common = ['--n', '1000', '--d', '2', '--gamma', '0.4', '--delta', '0.05', '--width', '300'];
    const b = runJson(['theory', 'bounds', '--regime', 'B', ...common, '--budget', '0.01']);
    assert.equal(
      b.maxBudget,
      theoryBounds({ regime: 'B', n: 1000, d: 2, gamma: 0.4, delta: 0.05, width: 300 }).maxBudget,
    );
    const c = runJson(['theory', 'bounds', '--regime', 'c', ...common, '--beta', '0.4']);
    assert.equal(
      c.maxBeta,
      theoryBounds({ regime: 'C', n: 1000, d: 2, gamma: 0.4, delta: 0.05, width: 300 }).maxBeta,
    );
    const r = run(['theory', 'bounds', '--regime', 'C', ...common, '--beta', '0.4', '--constant', '2']);
    assert.equal(r.status, 0, r.stderr);
    const text = r.stdout;
    assert.match(text, /error bound/);
    assert.match(text, /width window +m >= 3052 +m <= 3\.605e\+5/); // 2 / 0.4^8 = 3051.8
    assert.match(text, /tolerates beta <= /);
    assert.match(text, /2 x \(expression\) with log factors dropped/);
  });

  it('fails with one line on stderr, exit status 1 and nothing on stdout on bad input', () => {
    const bad = run([
      'theory',
      'bounds',
      '--regime',
      'A',
      '--n',
      '100',
      '--d',
      '2',
      '--gamma',
      '2',
      '--json',
    ]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.equal(bad.stderr, 'poisonlab: gamma (margin): expected 0 < gamma <= 1, got 2\n');
    const regime = run(['theory', 'bounds', '--regime', 'Z', '--n', '100', '--d', '2', '--gamma', '0.5']);
    assert.equal(regime.status, 1);
    assert.equal(regime.stderr, "poisonlab: --regime: expected A, B or C, got 'Z'\n");
  });
});

describe('poisonlab theory margin', () => {
  it('estimates gamma on the toy and prints the bounds it implies as JSON', () => {
    const args = [
      'theory',
      'margin',
      '--dataset',
      'toy',
      '--limit',
      '200',
      '--samples',
      '32',
      '--iterations',
      '20',
    ];
    const out = runJson([...args, '--repeats', '2', '--seed', '3']);
    assert.equal(out.n, 200);
    assert.equal(out.d, 2);
    // The toy's points cluster near (+-1, 0) with labels matching the side: gamma is large, <= 1/2.
    assert.ok(out.gamma > 0.3 && out.gamma <= 0.52, `gamma ${out.gamma}`);
    assert.equal(out.perRepeat.length, 2);
    assert.equal(out.bounds.A.regime, 'A');
    assert.equal(out.bounds.A.widthMax, undefined); // the toy has no regime A budget by default
    assert.equal(out.bounds.B.widthMin, 1 / Math.min(1, out.gamma) ** 8);
    assert.equal(typeof out.bounds.C.widthMax, 'number');
    const again = runJson([...args, '--repeats', '2', '--seed', '3']);
    assert.deepEqual(again.perRepeat, out.perRepeat);
  });
});
