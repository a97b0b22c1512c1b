import type { Command } from 'commander';
import { parseSettings } from '../../attacks/index.js';
import { initBackend } from '../../backend/index.js';
import { numClasses, numSamples } from '../../data/dataset.js';
import { datasetNormalization } from '../../data/defaults.js';
import { loadDataset } from '../../data/index.js';
import { countParams, createModel, modelNames } from '../../models/index.js';
import { saveCheckpoint } from '../../train/checkpoint.js';
import { fit } from '../../train/index.js';
import { loadModelFile } from '../../train/torch-checkpoint.js';
import type { EpochMetrics } from '../../train/types.js';
import { checkOutputFile } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress, epochProgress } from '../progress.js';

interface TrainFlags {
  dataset: string;
  model?: string;
  width?: number;
  modelParam?: string[];
  init?: string;
  epochs: number;
  lr: number;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  normalize: boolean;
  patience?: number;
  folds: number;
  seed: number;
  limit?: number;
  testLimit?: number;
  classes?: string;
  save?: string;
  json: boolean;
}

const pct = (v: number | undefined) => (v === undefined ? '   -  ' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | undefined) => (v === undefined ? '  -   ' : v.toFixed(4));

function epochLine(m: EpochMetrics): string {
  return (
    `epoch ${String(m.epoch).padStart(3)}  train ${num(m.trainLoss)} ${pct(m.trainAccuracy)}` +
    `  val ${num(m.valLoss)} ${pct(m.valAccuracy)}  test ${num(m.testLoss)} ${pct(m.testAccuracy)}` +
    `  ${m.seconds.toFixed(1)}s`
  );
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train one network on a dataset (clean, or a poisoned .npz) and report clean test accuracy')
    .option(
      '--dataset <spec>',
      'mnist, fashion-mnist, cifar10, toy, a directory, or a poisoned .npz',
      'mnist',
    )
    .option(
      '--model <name>',
      `network: ${modelNames().join(', ')} (default: cnn, or what --init holds; \`poisonlab models\` lists them)`,
    )
    .option(
      '--model-param <key=value>',
      "a parameter of the model's own (repeatable), e.g. --model-param depth=3 (`poisonlab models` lists them)",
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option(
      '--width <m>',
      'width m of the hidden layer',
      parseNumberOption('--width', { min: 1, integer: true }),
    )
    .option(
      '--init <file>',
      'initial weights: a checkpoint (.npz) or a PyTorch state_dict (.pth, .safetensors; --model/--width when its shapes do not say)',
    )
    .option('--epochs <n>', 'maximum epochs', parseNumberOption('--epochs', { min: 1, integer: true }), 1)
    .option('--lr <rate>', 'SGD learning rate', parseNumberOption('--lr', { min: 0 }), 0.1)
    .option(
      '--batch-size <n>',
      'minibatch size',
      parseNumberOption('--batch-size', { min: 1, integer: true }),
      128,
    )
    .option(
      '--momentum <mu>',
      'SGD momentum (the paper: 0)',
      parseNumberOption('--momentum', { min: 0, max: 1 }),
      0,
    )
    .option(
      '--normalize',
      "per-channel input normalisation with the dataset's mean and std in the forward (CIFAR-10: the original's)",
      false,
    )
    .option(
      '--weight-decay <wd>',
      'L2 weight decay (the paper: 0)',
      parseNumberOption('--weight-decay', { min: 0 }),
      0,
    )
    .option(
      '--patience <n>',
      'early stopping patience in epochs on validation accuracy',
      parseNumberOption('--patience', { min: 1, integer: true }),
    )
    .option(
      '--folds <k>',
      'hold out 1 of k stratified folds for validation (1 = no validation)',
      parseNumberOption('--folds', { min: 1, integer: true }),
      5,
    )
    .option(
      '--seed <s>',
      'seed of initialisation, split and minibatch order',
      parseNumberOption('--seed', { min: 0, integer: true }),
      0,
    )
    .option(
      '--limit <n>',
      'use only the first n training samples',
      parseNumberOption('--limit', { min: 1, integer: true }),
    )
    .option(
      '--test-limit <n>',
      'use only the first n test samples',
      parseNumberOption('--test-limit', { min: 1, integer: true }),
    )
    .option('--classes <a,b>', "binary task of two classes (class a -> -1, b -> +1), or 'even-odd'")
    .option('--save <file.npz>', 'save the trained weights as a checkpoint (.npz)')
    .option('--json', 'print one JSON object with the results', false)
    .action(async (flags: TrainFlags) => runTrain(flags));
}

async function runTrain(f: TrainFlags): Promise<void> {
  if (f.save !== undefined) checkOutputFile(f.save, '--save');
  const backend = await initBackend({ quiet: f.json });
  const data = await loadDataset(f.dataset, {
    ...(f.limit !== undefined && { limit: f.limit }),
    ...(f.testLimit !== undefined && { testLimit: f.testLimit }),
    ...(f.classes !== undefined && { classes: f.classes }),
  });
  const shape = {
    ...(f.width !== undefined && { width: f.width }),
    inputShape: [...data.train.sampleShape],
    numClasses: numClasses(data.train),
    seed: f.seed,
    ...(f.normalize && { normalize: datasetNormalization(f.dataset) }),
    ...(f.modelParam && { params: parseSettings(f.modelParam, '--model-param') }),
  };
  // --init: the model (and its width) is what the file holds; --model / --width, when given, must agree.
  const init = f.init
    ? loadModelFile(f.init, { ...shape, ...(f.model !== undefined && { model: f.model }) })
    : undefined;
  const model = init?.model ?? createModel(f.model ?? 'cnn', shape);
  const modelName = init?.name ?? f.model ?? 'cnn';
  const width = init ? (init.width ?? null) : (f.width ?? null);
  const progress = createProgress({ json: f.json });
  const result = await fit(
    model,
    data.train,
    {
      lr: f.lr,
      batchSize: f.batchSize,
      maxEpochs: f.epochs,
      momentum: f.momentum,
      weightDecay: f.weightDecay,
      ...(f.patience !== undefined && { patience: f.patience }),
      ...(f.folds > 1 && { folds: { k: f.folds, fold: 0, seed: f.seed } }),
    },
    {
      seed: f.seed,
      test: data.test,
      onSplit: (sizes) =>
        note(
          f.json,
          `${modelName}${width ? ` width ${width}` : ''}${init ? ` from ${f.init} (${init.format})` : ''}: ` +
            `${countParams(model).toLocaleString()} parameters; ` +
            `train ${sizes.train}, val ${sizes.val}, test ${numSamples(data.test)}; ` +
            `backend ${backend.backend}${backend.native ? ` + native (${backend.gemm})` : ''}`,
        ),
      ...epochProgress(progress, f.batchSize, (m: EpochMetrics) => say(f.json, epochLine(m))),
    },
  );
  progress.stop();
  if (f.save) {
    saveCheckpoint(f.save, model, {
      dataset: f.dataset,
      seed: f.seed,
      metrics: result.final,
      ...(f.init && { init: f.init }),
    });
  }
  const summary = {
    dataset: f.dataset,
    model: modelName,
    width,
    init: f.init ?? null,
    params: countParams(model),
    seed: f.seed,
    backend: backend.backend,
    native: backend.native,
    testAccuracy: result.final.testAccuracy,
    testLoss: result.final.testLoss,
    valAccuracy: result.final.valAccuracy,
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    seconds: result.seconds,
    samplesPerSecond: result.samplesPerSecond,
    history: result.history,
    ...(f.save && { checkpoint: f.save }),
  };
  if (f.json) printJson(summary);
  else
    say(
      false,
      `test accuracy ${pct(result.final.testAccuracy)} (best epoch ${result.bestEpoch} of ${result.epochs}), ` +
        `${result.seconds.toFixed(1)} s, ${Math.round(result.samplesPerSecond)} samples/s`,
    );
}
