/**
 * An error caused by the user's input or environment (bad file, impossible budget, ...).
 * The CLI prints its message as one line, with no stack trace. The message must name the
 * thing that is wrong and what was expected, e.g.
 * `mnist train images (train-images-idx3-ubyte): expected magic 2051, found 1234`.
 */
export class PoisonlabError extends Error {
  override readonly name = 'PoisonlabError';
}

/** Throw a PoisonlabError unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new PoisonlabError(typeof message === 'string' ? message : message());
}

/** Check that a number is finite (and optionally within [min, max]); `what` names it in the error. */
export function checkNumber(
  value: number,
  what: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  check(Number.isFinite(value), `${what}: expected a finite number, got ${value}`);
  if (opts.integer) check(Number.isInteger(value), `${what}: expected an integer, got ${value}`);
  if (opts.min !== undefined) check(value >= opts.min, `${what}: expected >= ${opts.min}, got ${value}`);
  if (opts.max !== undefined) check(value <= opts.max, `${what}: expected <= ${opts.max}, got ${value}`);
  return value;
}
