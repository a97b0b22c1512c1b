/**
 * `poisonlab poison` killed with SIGKILL in the middle of a gradient attack continues from its checkpoint when run
 * again, and writes the poison of an uninterrupted run; the checkpoint is removed when the poison is written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readNpz } from '../../src/io/npz.js';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';
import { cli } from './run.js';

test('poison: killed mid-attack and run again, it resumes and writes the uninterrupted poison', {
  timeout: 600_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-poison-resume-'));
  try {
    const SURROGATE = join(dir, 'surrogate.npz');
    const s = cli([
      'surrogate',
      'train',
      '--dataset',
      'mnist',
      '--model',
      'cnn',
      '--width',
      '20',
      '--limit',
      '1000',
      '--epochs',
      '1',
      '--out',
      SURROGATE,
      '--json',
    ]);
    assert.equal(s.status, 0, s.stderr);
    const args = (out: string) => [
      'poison',
      '--dataset',
      'mnist',
      '--limit',
      '1500',
      '--regime',
      'B',
      '--budget',
      '1',
      '--epochs',
      '30',
      '--step',
      '0.5',
      '--set',
      'stepRule=raw',
      '--seed',
      '3',
      '--surrogate',
      SURROGATE,
      '--checkpoint-every',
      '0',
      '--out',
      out,
    ];
    const whole = cli([...args(join(dir, 'whole.npz')), '--json'], { timeout: 600_000 });
    assert.equal(whole.status, 0, whole.stderr);

    const out = join(dir, 'piecewise.npz');
    const state = join(dir, 'piecewise.attack-state.npz');
    const child = spawn(process.execPath, nodeArgs(CLI_MAIN, ...args(out), '--json'), { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    for (let i = 0; i < 3000 && !existsSync(state); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    assert.ok(existsSync(state), 'the attack saved its state before it was killed');
    assert.equal(existsSync(out), false, 'no poison written by the killed attack');

    const again = cli([...args(out)], { timeout: 600_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /resumed after epoch \d+ from /);
    assert.equal(existsSync(state), false, 'the checkpoint is removed once the poison is written');
    const a = readNpz(join(dir, 'whole.npz')).arrays;
    const b = readNpz(out).arrays;
    assert.deepEqual(Buffer.from(b['x']!.data.buffer), Buffer.from(a['x']!.data.buffer));
    assert.deepEqual(b['delta_norm']!.data, a['delta_norm']!.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
