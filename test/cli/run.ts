import assert from 'node:assert/strict';
import { type SpawnSyncOptions, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createProgram } from '../../src/cli/program.js';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';

/** Run the poisonlab CLI of this tree (tsx under the tests) and wait for it. */
export function cli(args: string[], opts: SpawnSyncOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, nodeArgs(CLI_MAIN, ...args), {
    encoding: 'utf8',
    timeout: 120_000,
    ...opts,
  }) as SpawnSyncReturns<string>;
}

/**
 * The run failed with exactly one line on stderr in the form `poisonlab: <thing>: expected ...` matching
 * `pattern`, no stack trace, no internal error, and nothing on stdout.
 */
export function assertOneLineError(r: SpawnSyncReturns<string>, pattern: RegExp): void {
  assert.notEqual(r.status, 0, `expected a failure, got exit ${r.status}; stdout: ${r.stdout}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^poisonlab: .+: expected /);
  assert.doesNotMatch(lines[0]!, /internal error/);
  assert.match(lines[0]!, pattern);
}

/** Spawn options that run the CLI as a user without the test's rights (root ignores file modes). */
export function asAnotherUser(): SpawnSyncOptions {
  return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
}

/**
 * Parse `args` with the real command tree in this process (no child process: fast) and return the error it
 * fails with; commander must print nothing to stderr itself (its errors, and the help it shows for a missing
 * command, went there). stdout is left alone: node's test runner reports through it. Only for inputs that fail
 * before a command starts its work.
 */
export async function parseError(...args: string[]): Promise<Error> {
  const program = createProgram();
  const printed: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string | Uint8Array) => printed.push(String(s)) > 0) as typeof write;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    return e as Error;
  } finally {
    process.stderr.write = write;
    assert.deepEqual(printed, [], 'commander printed nothing');
  }
  assert.fail(`expected poisonlab ${args.join(' ')} to fail`);
}
