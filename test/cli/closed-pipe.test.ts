/** A reader that closes the pipe early (`poisonlab ... | head -1`): the CLI stops quietly, no EPIPE stack. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';

test('a closed pipe: no stack trace on stderr, exit 141 (128 + SIGPIPE) as a Unix tool', () => {
  // `true` exits before the CLI (slower to start) writes, so its write meets a closed pipe whatever its size
  const cli = [process.execPath, ...nodeArgs(CLI_MAIN, 'attacks', '--json')].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${cli} | true; echo "status \${PIPESTATUS[0]}" >&2`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.doesNotMatch(r.stderr, /EPIPE|Error|\bat /, r.stderr);
  assert.equal(r.stderr, 'status 141\n');
});
