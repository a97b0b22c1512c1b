/**
 * Stated surrogate recipes: how a surrogate the original does not ship is made here, once, and where it is
 * cached. A config names one as `surrogate.path: recipe:<name>`; `poisonlab surrogate train --preset <name>`
 * makes it. The cache file is named by the hash of the recipe and of the data source it is trained on, so a
 * changed recipe (or another CIFAR-10 copy) is another file, never a stale one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeDataSource } from '../data/load.js';
import { cacheDirectory } from '../data/tensor-cache.js';
import { PoisonlabError } from '../util/errors.js';

/** A surrogate recipe: what `trainSurrogate` is given, with the dataset it trains on. */
export interface SurrogateRecipe {
  dataset: string;
  model: string;
  width?: number;
  epochs: number;
  lr: number;
  lrDecay?: { every: number; factor: number };
  momentum: number;
  batchSize: number;
  seed: number;
  /** Input normalisation with the dataset's mean and std in the surrogate's forward (training and test). */
  normalize: boolean;
  /** The first `limit` training images only (absent: all). */
  limit?: number;
  /** Its accuracy measured on the first `testLimit` test images only (absent: all). */
  testLimit?: number;
}

/**
 * The recipes. `cifar10-alexnet`: the original's frozen alexnet_baseline.pth (poison_attack.py line 141) is not
 * available; its earlier script advgencifar.py (commit 914b168) trained that AlexNet (alexnet.py) for 100 epochs
 * (line 232) with plain SGD, no momentum and no weight decay (`optim.SGD(model.parameters(), lr = lr)`, line 226),
 * lr 0.1 (line 223) halved at the top of every epoch t with (t+1) % 20 == 0 (lines 233-235), batch 128 (line 242),
 * on inputs normalised with CIFAR-10's mean and std (ART preprocessing, lines 227-229).
 */
export const SURROGATE_RECIPES: Readonly<Record<string, SurrogateRecipe>> = {
  'cifar10-alexnet': {
    dataset: 'cifar10',
    model: 'alexnet',
    epochs: 100,
    lr: 0.1,
    lrDecay: { every: 20, factor: 0.5 },
    momentum: 0,
    batchSize: 128,
    seed: 0,
    normalize: true,
  },
};

/** The recipe of `name`; an unknown one is a one-line error listing the known ones. */
export function getSurrogateRecipe(name: string): SurrogateRecipe {
  const r = SURROGATE_RECIPES[name];
  if (!r)
    throw new PoisonlabError(
      `surrogate recipe '${name}': unknown, expected one of ${Object.keys(SURROGATE_RECIPES).join(', ')}`,
    );
  return { ...r };
}

/** JSON with object keys sorted, so equal recipes hash equally. */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** sha256 (hex) of the recipe and the data source it trains on: the identity of its cached file. */
export function recipeHash(recipe: SurrogateRecipe): string {
  return createHash('sha256')
    .update(sortedJson({ recipe, data: describeDataSource(recipe.dataset) }))
    .digest('hex');
}

/** Where the surrogate of `recipe` (named `name`) is cached: <cache>/surrogates/<name>-<hash12>.npz. */
export function recipePath(name: string, recipe: SurrogateRecipe, cacheDir?: string): string {
  return join(cacheDirectory(cacheDir), 'surrogates', `${name}-${recipeHash(recipe).slice(0, 12)}.npz`);
}

/** Whether a config's surrogate.path names a recipe (`recipe:cifar10-alexnet`). */
export function isRecipePath(path: string): boolean {
  return path.startsWith('recipe:');
}

/** The cached file of `recipe:<name>`; a one-line error saying how to make it when it is not there yet. */
export function resolveRecipePath(path: string): string {
  const name = path.slice('recipe:'.length);
  const file = recipePath(name, getSurrogateRecipe(name));
  if (existsSync(file)) return file;
  throw new PoisonlabError(
    `surrogate.path ${path}: not made yet (expected ${file}); make it once with 'poisonlab surrogate train --preset ${name}'`,
  );
}
