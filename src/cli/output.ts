import { InvalidArgumentError } from 'commander';

/** Output helpers shared by the commands: JSON goes to stdout alone, everything else to stderr. */

/** Print the one JSON object of a --json command. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A line for a person (stderr in --json mode so stdout stays one JSON object). */
export function say(json: boolean, line: string): void {
  if (json) return;
  process.stdout.write(`${line}\n`);
}

/** A note that goes to stderr unless --json. */
export function note(json: boolean, line: string): void {
  if (!json) process.stderr.write(`${line}\n`);
}

/** Parse a numeric CLI option, naming the flag in the error. */
export function parseNumberOption(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) {
      throw new InvalidArgumentError(`${flag} expects a number`);
    }
    return n;
  };
}
