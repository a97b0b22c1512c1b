import type { Command } from 'commander';
import { saveSurrogate, surrogateDefaults, trainSurrogate } from '../../attacks/surrogate.js';
import { initBackend } from '../../backend/index.js';
import { numSamples } from '../../data/dataset.js';
import { loadDataset } from '../../data/index.js';
import type { EpochMetrics } from '../../train/types.js';
import { check } from '../../util/errors.js';
import { checkOutputFile } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress, epochProgress } from '../progress.js';

interface SurrogateFlags {
  dataset: string;
  model?: string;
  width?: number;
  epochs: number;
  lr?: number;
  batchSize: number;
  seed: number;
  limit?: number;
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
    .option('--out <file>', 'where to save the surrogate checkpoint')
    .option('--json', 'print one JSON object with the results', false)
    .action(async (flags: SurrogateFlags) => runSurrogateTrain(flags));
}

async function runSurrogateTrain(f: SurrogateFlags): Promise<void> {
  check(f.out, 'surrogate train: --out <file> is required (where to save the surrogate)');
  checkOutputFile(f.out, '--out');
  const backend = await initBackend({ quiet: f.json });
  const data = await loadDataset(f.dataset, { ...(f.limit !== undefined && { limit: f.limit }) });
  const defaults = surrogateDefaults(f.dataset);
  note(
    f.json,
    `surrogate ${f.model ?? defaults.model}${(f.width ?? (f.model ? undefined : defaults.width)) ? ` width ${f.width ?? defaults.width}` : ''}` +
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
