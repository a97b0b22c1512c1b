import { Command } from 'commander';
import { COMMANDS } from './commands/index.js';
import { oneLineUsageErrors } from './usage-errors.js';

/** The poisonlab command tree, with commander's usage errors in the one-line form (see ./usage-errors.ts). */
export function createProgram(): Command {
  const program = new Command('poisonlab')
    .description(
      'Data poisoning robustness of SGD-trained networks across widths (Wang, Mianjy, Arora, ICML 2021)',
    )
    .version('0.1.0');
  for (const register of COMMANDS) register(program);
  oneLineUsageErrors(program);
  return program;
}
