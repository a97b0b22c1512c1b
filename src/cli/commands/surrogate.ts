import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import {
  getSurrogateRecipe,
  recipeHash,
  recipePath,
  SURROGATE_RECIPES,
  type SurrogateRecipe,
} from '../../attacks/surrogate-recipes.js';
import { initBackend } from '../../backend/index.js';
import { numSamples } from '../../data/dataset.js';
import { datasetNormalization } from '../../data/defaults.js';
import { loadDataset } from '../../data/index.js';
import { describeDataSource } from '../../data/load.js';
import { readNpz } from '../../io/npz.js';
import { saveSurrogate, surrogateDefaults, trainSurrogate } from '../../train/surrogate.js';
import type { EpochMetrics } from '../../train/types.js';
import { check } from '../../util/errors.js';
import { checkOutputFile } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress, epochProgress } from '../progress.js';

interface SurrogateFlags {
  preset?: string;
  cacheDir?: string;
  force: boolean;
  dataset: string;
  model?: string;
  width?: number;
  epochs: number;
  lr?: number;
  batchSize: number;
  seed: number;
  limit?: number;
  testLimit?: number;
  out?: string;
  json: boolean;
}

/** `poisonlab surrogate train`: train and save the frozen network the attacks take gradients of. */
export function register(program: Command): void {
  const group = program
    .command('surrogate')
    .description('the frozen surrogate network that regimes A and B attack');
  group
    .command('train')
    .description(
      'train a surrogate (MNIST: cnn width 100; CIFAR-10: alexnet), report its clean test accuracy, save it',
    )
    .option(
      '--preset <recipe>',
      `a stated recipe, made once and cached by its hash: ${Object.keys(SURROGATE_RECIPES).join(', ')} (flags given override it: another hash)`,
    )
    .option(
      '--cache-dir <dir>',
      'cache of recipe surrogates (default $POISONLAB_CACHE or ~/.cache/poisonlab)',
    )
    .option('--force', 'retrain a recipe surrogate that is already cached', false)
    .option('--dataset <spec>', 'mnist, cifar10, or another dataset spec', 'mnist')
    .option('--model <name>', 'network (default: cnn width 100 for MNIST, alexnet for CIFAR-10)')
    .option(
      '--width <m>',
      'width of the width-scaled models',
      parseNumberOption('--width', { min: 1, integer: true }),
    )
    .option('--epochs <n>', 'SGD epochs', parseNumberOption('--epochs', { min: 1, integer: true }), 10)
    .option(
      '--lr <rate>',
      'SGD learning rate (default 0.1 MNIST, 0.01 CIFAR-10)',
      parseNumberOption('--lr', { min: 0 }),
    )
    .option(
      '--batch-size <n>',
      'minibatch size',
      parseNumberOption('--batch-size', { min: 1, integer: true }),
      128,
    )
    .option(
      '--seed <s>',
      'seed of initialisation and minibatch order',
      parseNumberOption('--seed', { min: 0, integer: true }),
      0,
    )
    .option(
      '--limit <n>',
      'train on the first n training samples only',
      parseNumberOption('--limit', { min: 1, integer: true }),
    )
    .option(
      '--test-limit <n>',
      'measure the clean test accuracy on the first n test images only',
      parseNumberOption('--test-limit', { min: 1, integer: true }),
    )
    .option('--out <file>', 'where to save the surrogate checkpoint (a recipe: default its cache file)')
    .option('--json', 'print one JSON object with the results', false)
    .action(async (flags: SurrogateFlags, cmd: Command) =>
      flags.preset !== undefined ? runRecipe(flags, cmd) : runSurrogateTrain(flags),
    );
}

/** `surrogate train --preset <recipe>`: the recipe (flags given on the command line override it), made once. */
async function runRecipe(f: SurrogateFlags, cmd: Command): Promise<void> {
  const name = f.preset!;
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli';
  const base = getSurrogateRecipe(name);
  const recipe: SurrogateRecipe = {
    ...base,
    ...(given('epochs') && { epochs: f.epochs }),
    ...(given('lr') && f.lr !== undefined && { lr: f.lr }),
    ...(given('batchSize') && { batchSize: f.batchSize }),
    ...(given('seed') && { seed: f.seed }),
    ...(f.limit !== undefined && { limit: f.limit }),
    ...(f.testLimit !== undefined && { testLimit: f.testLimit }),
  };
  check(
    !given('dataset') && !given('model') && !given('width'),
    `surrogate train --preset ${name}: --dataset, --model and --width are the recipe's (${base.dataset}, ${base.model})`,
  );
  const out = f.out ?? recipePath(name, recipe, f.cacheDir);
  const source = describeDataSource(recipe.dataset);
  if (existsSync(out) && !f.force) {
    const meta = (readNpz(out).meta as { surrogate?: Record<string, unknown> } | undefined)?.surrogate ?? {};
    if (f.json) printJson({ out, cached: true, recipe: name, recipeHash: recipeHash(recipe), ...meta });
    else
      say(
        false,
        `surrogate ${name} is cached: ${out} (clean test accuracy ${(100 * Number(meta['testAccuracy'])).toFixed(2)}%; --force retrains)`,
      );
    return;
  }
  checkOutputFile(out, '--out');
  mkdirSync(dirname(out), { recursive: true });
  const backend = await initBackend({ quiet: f.json });
  const data = await loadDataset(recipe.dataset, {
    ...(recipe.limit !== undefined && { limit: recipe.limit }),
    ...(recipe.testLimit !== undefined && { testLimit: recipe.testLimit }),
  });
  note(
    f.json,
    `surrogate recipe ${name}: ${recipe.model} on ${source}, train ${numSamples(data.train)}, test ${numSamples(data.test)}; ` +
      `${recipe.epochs} epochs, lr ${recipe.lr}${recipe.lrDecay ? ` x ${recipe.lrDecay.factor} every ${recipe.lrDecay.every} epochs` : ''}, ` +
      `momentum ${recipe.momentum}, batch ${recipe.batchSize}, ${recipe.normalize ? 'normalised input' : 'raw input'}; backend ${backend.backend}`,
  );
  const progress = createProgress({ json: f.json });
  const { model, meta, result } = await trainSurrogate(data, {
    dataset: recipe.dataset,
    model: recipe.model,
    ...(recipe.width !== undefined && { width: recipe.width }),
    epochs: recipe.epochs,
    lr: recipe.lr,
    ...(recipe.lrDecay && { lrDecay: recipe.lrDecay }),
    momentum: recipe.momentum,
    batchSize: recipe.batchSize,
    seed: recipe.seed,
    ...(recipe.normalize && { normalize: datasetNormalization(recipe.dataset) }),
    dataSource: source,
    ...epochProgress(progress, recipe.batchSize, (m: EpochMetrics) =>
      note(
        f.json,
        `epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(4)}, accuracy ${(100 * m.trainAccuracy).toFixed(2)}% (${m.seconds.toFixed(1)} s)`,
      ),
    ),
  });
  progress.stop();
  saveSurrogate(out, model, { ...meta, recipe: name, recipeHash: recipeHash(recipe) });
  model.dispose();
  const perEpoch = result.history.reduce((a, m) => a + m.seconds, 0) / Math.max(1, result.history.length);
  if (f.json)
    printJson({
      out,
      cached: false,
      recipe: name,
      ...meta,
      seconds: result.seconds,
      secondsPerEpoch: perEpoch,
    });
  else
    say(
      false,
      `clean test accuracy ${(100 * meta.testAccuracy).toFixed(2)}% after ${result.seconds.toFixed(0)} s ` +
        `(${perEpoch.toFixed(1)} s per epoch); surrogate saved to ${out}`,
    );
}

async function runSurrogateTrain(f: SurrogateFlags): Promise<void> {
  check(f.out, 'surrogate train: --out <file> is required (where to save the surrogate)');
  checkOutputFile(f.out, '--out');
  // The dataset's defaults fill a missing --model or --lr; a dataset without them is refused before any work.
  const defaults =
    f.model === undefined || f.lr === undefined
      ? surrogateDefaults(f.dataset, '--model and --lr')
      : undefined;
  const backend = await initBackend({ quiet: f.json });
  const data = await loadDataset(f.dataset, {
    ...(f.limit !== undefined && { limit: f.limit }),
    ...(f.testLimit !== undefined && { testLimit: f.testLimit }),
  });
  const shownWidth = f.width ?? (f.model ? undefined : defaults?.width);
  note(
    f.json,
    `surrogate ${f.model ?? defaults?.model}${shownWidth ? ` width ${shownWidth}` : ''}` +
      ` on ${f.dataset}: train ${numSamples(data.train)}, test ${numSamples(data.test)}; backend ${backend.backend}`,
  );
  const progress = createProgress({ json: f.json });
  const { model, meta, result } = await trainSurrogate(data, {
    dataset: f.dataset,
    ...(f.model !== undefined && { model: f.model }),
    ...(f.width !== undefined && { width: f.width }),
    ...(f.lr !== undefined && { lr: f.lr }),
    epochs: f.epochs,
    batchSize: f.batchSize,
    seed: f.seed,
    ...epochProgress(progress, f.batchSize, (m: EpochMetrics) =>
      note(
        f.json,
        `epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(4)}, accuracy ${(100 * m.trainAccuracy).toFixed(2)}%`,
      ),
    ),
  });
  progress.stop();
  saveSurrogate(f.out, model, meta);
  model.dispose();
  if (f.json) printJson({ out: f.out, ...meta, seconds: result.seconds });
  else
    say(false, `clean test accuracy ${(100 * meta.testAccuracy).toFixed(2)}%; surrogate saved to ${f.out}`);
}
