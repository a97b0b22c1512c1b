/** `poisonlab attacks`, `defences` and `poison --attack NAME --set k=v` through the real CLI on a MNIST slice. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpz } from '../../src/io/npz.js';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';

function cli(...args: string[]) {
  return spawnSync(process.execPath, nodeArgs(CLI_MAIN, ...args), { encoding: 'utf8', timeout: 120_000 });
}

test('poisonlab attacks and defences list every entry with its parameters', () => {
  const a = cli('attacks', '--json');
  assert.equal(a.status, 0, a.stderr);
  const { attacks } = JSON.parse(a.stdout) as { attacks: { name: string; params: { name: string }[] }[] };
  assert.deepEqual(
    attacks.map((x) => x.name),
    [
      'l21-perturbation',
      'per-sample-perturbation',
      'label-flip',
      'shift',
      'badnets',
      'blended',
      'label-consistent',
      'one-pixel-shortcut',
      'autoregressive',
      'error-minimizing',
      'adversarial-poisoning',
      'gradient-matching',
      'bullseye-polytope',
    ],
  );
  assert.ok(attacks.find((x) => x.name === 'blended')!.params.some((p) => p.name === 'alpha'));
  const text = cli('attacks');
  assert.match(text.stdout, /^badnets \(aliases: patch\) \[backdoor\]$/m);
  assert.match(text.stdout, /^ {4}rate = 0\.1 +number in \(0, 1\] +poison rate/m);
  const d = cli('defences', '--json');
  assert.equal(d.status, 0, d.stderr);
  assert.equal((JSON.parse(d.stdout) as { defences: unknown[] }).defences.length, 7);
});

test('poisonlab poison --attack ops: an attack without a seed takes none from --seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-cli-ops-'));
  const r = cli('poison', '--attack', 'ops', '--limit', '100', '--out', join(dir, 'ops.npz'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { attack: string; labelsFlipped: number; deltaNormMax: number };
  assert.equal(report.attack, 'one-pixel-shortcut');
  assert.equal(report.labelsFlipped, 0);
  assert.equal(report.deltaNormMax, 1);
  const bad = cli(
    'poison',
    '--attack',
    'ops',
    '--set',
    'seed=3',
    '--limit',
    '100',
    '--out',
    join(dir, 'x.npz'),
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^poisonlab: attack one-pixel-shortcut: .*"seed"\n$/);
});

test('poisonlab poison --attack badnets --set ... writes the poison and its mask; --regime C still works', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-cli-attacks-'));
  const out = join(dir, 'bad.npz');
  const r = cli(
    'poison',
    '--attack',
    'badnets',
    '--set',
    'rate=0.05',
    '--set',
    'target=7',
    '--limit',
    '200',
    '--out',
    out,
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { attack: string; samplesChanged: number; labelsFlipped: number };
  assert.equal(report.attack, 'badnets');
  assert.equal(report.samplesChanged, 10);
  const { arrays, meta } = readNpz(out);
  const mask = arrays['poison_mask']!.data as Uint8Array;
  const y = arrays['y']!.data as Int32Array;
  assert.equal(
    mask.reduce((s, v) => s + v, 0),
    10,
  );
  mask.forEach((m, i) => {
    if (m) assert.equal(y[i], 7);
  });
  assert.equal((meta as { attack: string }).attack, 'badnets');
  // The regime alias and the registry name give the same poison.
  const c1 = join(dir, 'c1.npz');
  const c2 = join(dir, 'c2.npz');
  assert.equal(cli('poison', '--regime', 'C', '--beta', '0.3', '--limit', '200', '--out', c1).status, 0);
  assert.equal(
    cli('poison', '--attack', 'label-flip', '--set', 'beta=0.3', '--limit', '200', '--out', c2).status,
    0,
  );
  assert.deepEqual(readNpz(c1).arrays['y']!.data, readNpz(c2).arrays['y']!.data);
});

test('bad attack names and parameters are one-line errors', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'poisonlab-cli-attacks-')), 'x.npz');
  const cases: [string[], RegExp][] = [
    [['--attack', 'nope'], /^poisonlab: attack: unknown attack 'nope', expected one of l21-perturbation, /],
    [['--attack', 'badnets', '--set', 'rate=2'], /^poisonlab: attack badnets: rate: /],
    [['--attack', 'badnets', '--set', 'rate'], /^poisonlab: --set: expected key=value, got 'rate'/],
    [['--attack', 'badnets', '--regime', 'A'], /^poisonlab: poison: give --attack or --regime, not both/],
    [['--attack', 'badnets', '--budget', '3'], /^poisonlab: --budget\/--beta: only for regimes A, B, C/],
    [['--attack', 'label-consistent'], /^poisonlab: label-consistent: --surrogate <file> is required/],
  ];
  for (const [args, re] of cases) {
    const r = cli('poison', ...args, '--limit', '50', '--out', out);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});
