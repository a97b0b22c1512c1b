import type { Command, CommanderError } from 'commander';
import { PoisonlabError } from '../util/errors.js';

/**
 * Commander's own usage errors (unknown option or command, a missing command, argument or value, too many
 * arguments) in the project's one-line form `poisonlab: <flag>: expected ...`. Commander prints nothing itself;
 * each command's exit override turns the error into a PoisonlabError that names the command, which the
 * top-level handler prints. Help and --version are left to commander.
 */
export function oneLineUsageErrors(root: Command): void {
  for (const cmd of allCommands(root)) {
    // Commander writes to stderr only its errors and the help it shows for a missing command: both become one line.
    cmd.configureOutput({ outputError: () => {}, writeErr: () => {} });
    cmd.exitOverride((err) => {
      throw usageError(cmd, err) ?? err;
    });
  }
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/** `poisonlab theory bounds` for a nested command. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The first quoted name in commander's message, e.g. --foo in "error: unknown option '--foo'". */
function quoted(message: string): string {
  return /'([^']*)'/.exec(message)?.[1] ?? '';
}

/** Commander's "(Did you mean --force?)" as "; did you mean --force?". */
function suggestion(message: string): string {
  const m = /\(Did you mean (.+)\?\)/.exec(message);
  return m ? `; did you mean ${m[1]}?` : '';
}

/** The long flag of commander's `'--out <dir>'`. */
function flagOf(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0]!;
}

/** The value placeholder of commander's `'--out <dir>'`. */
function placeholderOf(flags: string): string {
  return /[<[].*[>\]]/.exec(flags)?.[0] ?? '';
}

/** The one-line error for a commander usage error, or undefined for help, version and the like. */
export function usageError(cmd: Command, err: CommanderError): PoisonlabError | undefined {
  const where = `'${commandPath(cmd)}'`;
  const help = `see ${commandPath(cmd)} --help`;
  const fail = (text: string) => new PoisonlabError(text);
  switch (err.code) {
    case 'commander.unknownOption':
      return fail(
        `${quoted(err.message)}: expected an option of ${where}${suggestion(err.message)} (${help})`,
      );
    case 'commander.unknownCommand': {
      const names = cmd.commands.map((c) => c.name()).join(', ');
      return fail(
        `${quoted(err.message)}: expected a command of ${where}: ${names}${suggestion(err.message)}`,
      );
    }
    case 'commander.help':
      // help shown on request exits 0; with exit code 1 it stood for a missing command
      if (err.exitCode === 0) return undefined;
      return fail(
        `<command>: expected one of ${cmd.commands.map((c) => c.name()).join(', ')} after ${where} (${help})`,
      );
    case 'commander.missingArgument': {
      const name = quoted(err.message);
      const arg = cmd.registeredArguments.find((a) => a.name() === name);
      return fail(
        `<${name}>: expected an argument of ${where}${arg?.description ? `: ${arg.description}` : ''}`,
      );
    }
    case 'commander.optionMissingArgument': {
      const flags = quoted(err.message);
      return fail(`${flagOf(flags)}: expected a value ${placeholderOf(flags)}`);
    }
    case 'commander.missingMandatoryOptionValue': {
      const flags = quoted(err.message);
      const option = cmd.options.find((o) => o.flags === flags);
      return fail(
        `${flagOf(flags)}: expected a value ${placeholderOf(flags)} (required by ${where}` +
          `${option?.description ? `: ${option.description}` : ''})`,
      );
    }
    case 'commander.excessArguments': {
      const expected = cmd.registeredArguments.length;
      const extra = cmd.args.slice(expected);
      return fail(
        `${extra.map((a) => `'${a}'`).join(' ')}: expected ${expected === 0 ? 'no' : `at most ${expected}`} ` +
          `argument${expected === 1 ? '' : 's'} for ${where}, got ${cmd.args.length} (${help})`,
      );
    }
    case 'commander.invalidArgument':
    case 'commander.conflictingOption':
    case 'commander.error':
      return fail(err.message.replace(/^error: /, '').split('\n')[0]!);
    default:
      return undefined;
  }
}
