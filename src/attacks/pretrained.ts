import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PoisonlabError } from '../util/errors.js';
import { isRecipePath, resolveRecipePath } from './surrogate-recipes.js';

/**
 * Surrogates the original study ships, by the name a config uses as `surrogate.path` (`paper:mnist`). Their
 * files are not redistributed with poisonlab; they are looked up where a researcher keeps them.
 */
const PAPER_SURROGATES: Record<string, { file: string; env: string; what: string }> = {
  'paper:mnist': {
    file: 'ntkconv100_baseline.pth',
    env: 'POISONLAB_PAPER_SURROGATE',
    what: "the paper's MNIST surrogate (mnist-cnn, width 100, clean test accuracy 0.9888)",
  },
};

/** Whether a surrogate path names one of the paper's surrogates rather than a file. */
export function isPaperSurrogate(path: string): boolean {
  return path.startsWith('paper:');
}

/**
 * The file behind a config's `surrogate.path`: a plain path as it is; `recipe:<name>` the cached surrogate of a
 * stated recipe (surrogate-recipes.ts); `paper:mnist` from $POISONLAB_PAPER_SURROGATE,
 * then ../shared/seed-artifacts/ beside the working directory or beside poisonlab's own folder, then
 * ~/.cache/poisonlab/. A name that is not
 * known, or a paper surrogate that is nowhere, is a one-line error.
 */
export function resolveSurrogatePath(path: string): string {
  if (isRecipePath(path)) return resolveRecipePath(path);
  if (!isPaperSurrogate(path)) return path;
  const known = PAPER_SURROGATES[path];
  if (!known)
    throw new PoisonlabError(
      `surrogate.path: unknown paper surrogate '${path}', expected one of ${Object.keys(PAPER_SURROGATES).join(', ')}`,
    );
  const fromEnv = process.env[known.env];
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new PoisonlabError(
      `$${known.env}: ${fromEnv} does not exist, expected ${known.what} (${known.file})`,
    );
  }
  const candidates = [
    resolve('..', 'shared', 'seed-artifacts', known.file),
    join(packageRoot(), '..', 'shared', 'seed-artifacts', known.file),
    join(homedir(), '.cache', 'poisonlab', known.file),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  throw new PoisonlabError(
    `surrogate.path ${path}: ${known.what} was not found (looked in ${candidates.join(', ')}); ` +
      `expected the original's ${known.file} there or in $${known.env}`,
  );
}

/** The folder holding poisonlab's package.json (this file is in src/attacks or dist/src/attacks). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}
