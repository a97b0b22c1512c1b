/**
 * A stand-alone `poisonlab` with only the theory commands, run as a child process by cli.test.ts
 * (stdout must stay the command's own: node's test runner reports through the test's stdout).
 * Errors are printed as main.ts prints them: `poisonlab: <message>`, exit status 1.
 */
import { Command, CommanderError } from 'commander';
import { register } from '../../src/cli/commands/theory.js';
import { PoisonlabError } from '../../src/util/errors.js';

const program = new Command('poisonlab').exitOverride();
register(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(
    `poisonlab: ${e instanceof PoisonlabError ? e.message : `internal error: ${String(e)}`}\n`,
  );
  process.exit(1);
}
