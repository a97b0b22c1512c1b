/** Commander's own errors (unknown option or command, missing argument, bad numbers) in the one-line form. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommanderError } from 'commander';
import { parseNumberOption } from '../../src/cli/output.js';
import { createProgram } from '../../src/cli/program.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { assertOneLineError, cli, parseError } from './run.js';

async function assertUsage(args: string[], want: string): Promise<void> {
  const e = await parseError(...args);
  assert.ok(e instanceof PoisonlabError, `a PoisonlabError for ${args.join(' ')}, got ${e}`);
  assert.equal(e.message, want);
  assert.ok(!e.message.includes('\n'));
}

test('an unknown option or command names it, the command, and a suggestion where commander has one', async () => {
  await assertUsage(
    ['sweep', '--out', 'x', '--forse'],
    "--forse: expected an option of 'poisonlab sweep'; did you mean --force? (see poisonlab sweep --help)",
  );
  await assertUsage(
    ['doctor', '--zzz'],
    "--zzz: expected an option of 'poisonlab doctor' (see poisonlab doctor --help)",
  );
  const unknown = await parseError('sweeep');
  assert.ok(unknown instanceof PoisonlabError);
  assert.match(
    unknown.message,
    /^sweeep: expected a command of 'poisonlab': demo, sweep, .*; did you mean sweep\?$/,
  );
  await assertUsage(
    ['theory', 'bound'],
    "bound: expected a command of 'poisonlab theory': bounds, margin; did you mean bounds?",
  );
});

test('a missing command lists the commands instead of printing the help to stderr', async () => {
  const none = await parseError();
  assert.ok(none instanceof PoisonlabError);
  assert.match(
    none.message,
    /^<command>: expected one of demo, sweep, .*, bench after 'poisonlab' \(see poisonlab --help\)$/,
  );
  await assertUsage(
    ['data'],
    "<command>: expected one of fetch, info after 'poisonlab data' (see poisonlab data --help)",
  );
});

test('missing arguments, missing option values and required options say what was expected', async () => {
  await assertUsage(
    ['merge'],
    "<out>: expected an argument of 'poisonlab merge': the merged sweep folder (created when missing)",
  );
  await assertUsage(['sweep', '--out'], '--out: expected a value <dir>');
  await assertUsage(
    ['sweep'],
    "--out: expected a value <dir> (required by 'poisonlab sweep': the sweep folder (runs.sqlite, surrogate, poisons); re-run to continue)",
  );
  await assertUsage(
    ['theory', 'bounds', '--n', '10', '--d', '2', '--gamma', '0.1'],
    "--regime: expected a value <r> (required by 'poisonlab theory bounds': A (overall l2,1 budget), B (per-sample budget) or C (label flips))",
  );
  await assertUsage(
    ['doctor', 'extra', 'more'],
    "'extra' 'more': expected no arguments for 'poisonlab doctor', got 2 (see poisonlab doctor --help)",
  );
  await assertUsage(
    ['report', 'a', 'b'],
    "'b': expected at most 1 argument for 'poisonlab report', got 2 (see poisonlab report --help)",
  );
});

test('numeric options: one parser names the flag, the range and the value given', async () => {
  await assertUsage(['bench', '--steps', 'abc'], "--steps: expected an integer >= 1, got 'abc'");
  await assertUsage(['train', '--epochs', '0'], "--epochs: expected an integer >= 1, got '0'");
  await assertUsage(['train', '--lr', '-1'], "--lr: expected a number >= 0, got '-1'");
  await assertUsage(['train', '--batch-size', '2.5'], "--batch-size: expected an integer >= 1, got '2.5'");
  await assertUsage(
    ['serve', 'x', '--port', '70000'],
    "--port: expected an integer in [0, 65535], got '70000'",
  );
  await assertUsage(['poison', '--beta', 'Infinity'], "--beta: expected a number in [0, 1], got 'Infinity'");
  await assertUsage(['models', '--width', ''], "--width: expected an integer >= 1, got ''");
  await assertUsage(['theory', 'bounds', '--gamma', 'x'], "--gamma: expected a number, got 'x'");
  const parse = parseNumberOption('--x', { min: -1, max: 1 });
  assert.equal(parse('0.5'), 0.5);
  assert.equal(parse(' -1 '), -1);
  assert.throws(() => parse('1e3'), /^PoisonlabError: --x: expected a number in \[-1, 1\], got '1e3'$/);
});

test('help and version are commander errors with exit code 0, left to commander', async () => {
  for (const args of [['--help'], ['sweep', '--help'], ['--version']]) {
    const program = createProgram();
    let out = '';
    program.configureOutput({ writeOut: (s) => (out += s) });
    for (const sub of program.commands) sub.configureOutput({ writeOut: (s) => (out += s) });
    await assert.rejects(program.parseAsync(args, { from: 'user' }), (e) => {
      assert.ok(e instanceof CommanderError);
      assert.equal(e.exitCode, 0);
      return true;
    });
    assert.match(out, args[0] === '--version' ? /^0\.1\.0\n$/ : /^Usage: poisonlab/);
  }
});

test('through the real CLI: one line on stderr, exit 1; --help and --version print on stdout, exit 0', () => {
  assertOneLineError(
    cli(['sweep', '--out', 'x', '--workers', 'two']),
    /^poisonlab: --workers: expected an integer >= 1, got 'two'$/,
  );
  assertOneLineError(
    cli(['frobnicate']),
    /^poisonlab: frobnicate: expected a command of 'poisonlab': demo, /,
  );
  assertOneLineError(cli([]), /^poisonlab: <command>: expected one of demo, .* \(see poisonlab --help\)$/);
  const help = cli(['poison', '--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: poisonlab poison \[options\]/);
  assert.match(help.stdout, /--out <file\.npz>/);
  const version = cli(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout, '0.1.0\n');
});
