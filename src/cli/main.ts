#!/usr/bin/env node
/**
 * The poisonlab command line: it only wires the library's pieces (data -> attack -> train ->
 * experiment -> report); each command group lives in ./commands/<name>.ts.
 */
import { CommanderError } from 'commander';
import { fileSystemError, PoisonlabError } from '../util/errors.js';
import { createProgram } from './program.js';

const program = createProgram();

// A reader that stops early (`poisonlab report DIR | head -3`) closes the pipe: stop quietly with 128 + SIGPIPE, as
// Unix tools do, instead of an unhandled EPIPE and its stack. Files and the store are written atomically, so what
// stops there leaves nothing half-written.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });

function fail(message: string): never {
  process.stderr.write(`poisonlab: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed what it had to (help, version); its usage errors arrive as PoisonlabErrors.
    process.exit(e.exitCode);
  }
  if (e instanceof PoisonlabError) fail(e.message);
  // A file-system failure that no reader translated (an --out under a file, a full disk, ...).
  const fsError = fileSystemError(e) ?? fileSystemError((e as Error | undefined)?.cause);
  if (fsError) fail(fsError.message);
  if (process.env['POISONLAB_DEBUG']) throw e;
  fail(`internal error: ${(e as Error)?.message ?? String(e)} (set POISONLAB_DEBUG=1 for the stack)`);
}
