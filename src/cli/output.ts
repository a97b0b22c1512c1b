import { PoisonlabError } from '../util/errors.js';

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

/**
 * The parser of every numeric CLI option: a finite number (an integer, within [min, max], when asked), else the
 * one-line error naming the flag, e.g. `--epochs: expected an integer >= 1, got 'abc'`.
 */
export function parseNumberOption(
  flag: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
) {
  const { min, max } = range;
  const bounds =
    min !== undefined && max !== undefined
      ? ` in [${min}, ${max}]`
      : min !== undefined
        ? ` >= ${min}`
        : max !== undefined
          ? ` <= ${max}`
          : '';
  const wanted = `${range.integer ? 'an integer' : 'a number'}${bounds}`;
  return (value: string): number => {
    const n = Number(value);
    const ok =
      value.trim() !== '' &&
      Number.isFinite(n) &&
      (!range.integer || Number.isInteger(n)) &&
      (range.min === undefined || n >= range.min) &&
      (range.max === undefined || n <= range.max);
    if (!ok) throw new PoisonlabError(`${flag}: expected ${wanted}, got '${value}'`);
    return n;
  };
}
