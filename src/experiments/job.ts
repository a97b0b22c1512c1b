/**
 * The real sweep tasks, run inside a worker process: train the surrogate, generate one (regime, repetition)
 * poison over the whole training set, or train and evaluate one (regime, width, repetition, fold) run.
 * Datasets, the surrogate and the last poison are cached per worker process.
 */
import type * as tf from '@tensorflow/tfjs';
import { createAttack } from '../attacks/index.js';
import { resolveSurrogatePath } from '../attacks/pretrained.js';
import { loadSurrogate, saveSurrogate, trainSurrogate } from '../attacks/surrogate.js';
import { initBackend } from '../backend/index.js';
import { type Dataset, type DatasetSplit, numClasses, numSamples, take } from '../data/dataset.js';
import { loadDataset, trainValSplit } from '../data/index.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { createModel } from '../models/index.js';
import { evaluate, train } from '../train/index.js';
import { check } from '../util/errors.js';
import { hasValidation } from './config.js';
import { type PoisonSpec, type RunSpec, regimeNeedsSurrogate, sweepPaths } from './plan.js';
import { shiftAttack } from './shift-attack.js';
import { epochRecord, type RunMetrics } from './store.js';
import type { SweepTask, TaskContext, TaskEpoch, TaskProgress, TaskResult } from './tasks.js';

let dataCache: { hash: string; data: DatasetSplit } | undefined;
let surrogateCache: { path: string; model: tf.LayersModel } | undefined;
let poisonCache: { path: string; data: Dataset } | undefined;

/** Run one sweep task (the TaskModule interface of ./tasks.ts). */
export async function runTask(
  task: SweepTask,
  ctx: TaskContext,
  onProgress: TaskProgress,
  onEpoch?: TaskEpoch,
): Promise<TaskResult> {
  await initBackend({ quiet: true });
  const data = await loadData(ctx);
  switch (task.kind) {
    case 'surrogate':
      return runSurrogate(ctx, data, onProgress);
    case 'poison':
      return runPoison(task.poison, ctx, data, onProgress);
    case 'train':
      return { kind: 'train', metrics: await runTrain(task.run, ctx, data, onProgress, onEpoch) };
  }
}

async function loadData(ctx: TaskContext): Promise<DatasetSplit> {
  if (dataCache?.hash === ctx.hash) return dataCache.data;
  const c = ctx.config;
  const data = await loadDataset(c.dataset, {
    ...(c.limit !== undefined && { limit: c.limit }),
    ...(c.testLimit !== undefined && { testLimit: c.testLimit }),
    ...(c.classes !== undefined && { classes: c.classes }),
  });
  dataCache = { hash: ctx.hash, data };
  return data;
}

function surrogatePath(ctx: TaskContext): string {
  const given = ctx.config.surrogate?.path;
  return given !== undefined ? resolveSurrogatePath(given) : sweepPaths(ctx.out).surrogate;
}

async function runSurrogate(
  ctx: TaskContext,
  sweepData: DatasetSplit,
  onProgress: TaskProgress,
): Promise<TaskResult> {
  const s = ctx.config.surrogate;
  check(s, `config ${ctx.config.name}: surrogate settings are required to train a surrogate`);
  let data = sweepData;
  if (s.limit !== undefined && s.limit !== ctx.config.limit) {
    const c = ctx.config;
    data = await loadDataset(c.dataset, {
      limit: s.limit,
      ...(c.testLimit !== undefined && { testLimit: c.testLimit }),
      ...(c.classes !== undefined && { classes: c.classes }),
    });
  }
  const epochs = s.epochs;
  let epoch = 0;
  const { model, meta } = await trainSurrogate(data, {
    dataset: ctx.config.dataset,
    model: s.model,
    ...(s.width !== undefined && { width: s.width }),
    epochs,
    lr: s.lr,
    batchSize: s.batchSize,
    seed: ctx.config.seed,
    onEpoch: (m) => {
      epoch = m.epoch;
    },
    onBatch: (done, total) => onProgress(epoch * total + done, epochs * total),
  });
  try {
    saveSurrogate(surrogatePath(ctx), model, meta);
  } finally {
    model.dispose();
  }
  return { kind: 'surrogate', meta };
}

function getSurrogate(ctx: TaskContext, clean: Dataset): tf.LayersModel {
  const path = surrogatePath(ctx);
  if (surrogateCache?.path === path) return surrogateCache.model;
  surrogateCache?.model.dispose();
  // A PyTorch state_dict (surrogate.path: x.pth / x.safetensors) is read as the config's surrogate model.
  const s = ctx.config.surrogate;
  const { model } = loadSurrogate(path, clean, {
    ...(s?.model !== undefined && { model: s.model }),
    ...(s?.width !== undefined && { width: s.width }),
  });
  surrogateCache = { path, model };
  return model;
}

async function runPoison(
  p: PoisonSpec,
  ctx: TaskContext,
  data: DatasetSplit,
  onProgress: TaskProgress,
): Promise<TaskResult> {
  const c = ctx.config;
  const regime = p.regime.regime;
  check(regime !== 'clean', `poison ${p.key}: clean data needs no poison`);
  // Sample-size sweeps poison the first n samples only (the budget C sqrt(n) is relative to that n).
  const clean = sizedTrain(data.train, p.size, p.key);
  const { dataset, deltaNorm, report } =
    regime === 'B' && p.regime.attack === 'shift'
      ? shiftAttack(clean, p.regime.budget!)
      : await runAttack(p, ctx, clean, onProgress);
  const n = numSamples(dataset);
  const path = sweepPaths(ctx.out).poison(p.key);
  // The layout of `poisonlab poison`, so that `poisonlab train --dataset <this file>` reads it too.
  writeNpz(
    path,
    {
      x: { data: dataset.x, shape: [n, ...dataset.sampleShape] },
      y: { data: dataset.y, shape: [n] },
      delta_norm: { data: deltaNorm, shape: [n] },
    },
    {
      kind: 'poisonlab-poison',
      regime,
      params: report.params,
      seed: p.seed,
      dataset: c.dataset,
      limit: p.size ?? c.limit ?? null,
      ...(c.classes !== undefined && { classes: c.classes }),
      sampleShape: [...dataset.sampleShape],
      classNames: [...dataset.classNames],
      sweep: { configHash: ctx.hash, poisonKey: p.key },
      report,
    },
  );
  return { kind: 'poison', path, report };
}

/** The first `size` training samples (all when size is undefined); a size beyond the data is a one-line error. */
function sizedTrain(train: Dataset, size: number | undefined, what: string): Dataset {
  if (size === undefined) return train;
  check(
    size <= numSamples(train),
    `${what}: size n = ${size} exceeds the ${numSamples(train)} training samples of ${train.name}`,
  );
  return take(train, size);
}

/** The gradient attacks (A, B) or label flips (C) of the attacks module. */
async function runAttack(p: PoisonSpec, ctx: TaskContext, clean: Dataset, onProgress: TaskProgress) {
  const c = ctx.config;
  const regime = p.regime.regime as 'A' | 'B' | 'C';
  check(regime === 'C' || c.attack, `poison ${p.key}: config ${c.name} has no attack settings`);
  const attack = createAttack({
    regime,
    ...(p.regime.budget !== undefined && { budget: p.regime.budget }),
    ...(p.regime.beta !== undefined && { beta: p.regime.beta }),
    ...(c.attack && {
      epochs: c.attack.epochs,
      step: c.attack.step,
      batchSize: c.attack.batchSize,
      projectEvery: c.attack.projectEvery,
    }),
    seed: p.seed,
    onProgress: (done, total) => onProgress(done, total),
  });
  const surrogate = regimeNeedsSurrogate(p.regime) ? getSurrogate(ctx, clean) : undefined;
  return attack.poison(clean, surrogate);
}

/** The poisoned training set of a run, read from its cached .npz (the clean set for clean runs). */
function trainingSet(run: RunSpec, ctx: TaskContext, all: Dataset): Dataset {
  const clean = sizedTrain(all, run.size, run.key);
  if (!run.poisonKey) return clean;
  const path = sweepPaths(ctx.out).poison(run.poisonKey);
  if (poisonCache?.path === path) return poisonCache.data;
  const { arrays } = readNpz(path);
  const x = arrays['x'];
  const y = arrays['y'];
  check(
    x?.data instanceof Float32Array && y?.data instanceof Int32Array && y.data.length === numSamples(clean),
    `${path}: expected float32 x and int32 y for the ${numSamples(clean)} training samples`,
  );
  const data: Dataset = { ...clean, name: `${clean.name} (${run.poisonKey})`, x: x.data, y: y.data };
  poisonCache = { path, data };
  return data;
}

async function runTrain(
  run: RunSpec,
  ctx: TaskContext,
  data: DatasetSplit,
  onProgress: TaskProgress,
  onEpoch?: TaskEpoch,
): Promise<RunMetrics> {
  const c = ctx.config;
  const full = trainingSet(run, ctx, data.train);
  // The paper's protocol: stratified k-fold over the (poisoned) training set; validation on the held-out fold.
  // Without k-fold (the theory toy): train on everything, no validation, no early stopping.
  // The test set is evaluated after every epoch too, for the per-epoch history the store keeps.
  const split = {
    ...(hasValidation(c)
      ? trainValSplit(full, { folds: c.folds!.k, fold: run.fold, seed: run.seed })
      : { train: full }),
    test: data.test,
  };
  const model = createModel(c.model, {
    width: run.width,
    inputShape: [...full.sampleShape],
    numClasses: numClasses(full),
    seed: run.seed,
  });
  try {
    const maxEpochs = c.training.maxEpochs;
    let epoch = 0;
    const result = await train(model, split, {
      epochs: maxEpochs,
      batchSize: c.training.batchSize,
      lr: c.training.lr,
      momentum: c.training.momentum,
      weightDecay: c.training.weightDecay,
      ...(c.training.patience !== undefined && { patience: c.training.patience }),
      seed: run.seed,
      // A killed or re-delivered run continues after its last finished epoch, with the same numbers.
      checkpoint: { path: sweepPaths(ctx.out).checkpoint(run.key), tag: `${ctx.hash}/${run.key}` },
      onEpoch: (m) => {
        epoch = m.epoch;
        onEpoch?.(epochRecord(m));
      },
      onBatch: (done, total) => onProgress(epoch * total + done, maxEpochs * total),
    });
    // Clean test accuracy of the best-validation weights (train restored them).
    const test = evaluate(model, data.test);
    const bestVal = result.history[result.bestEpoch - 1]?.valAccuracy ?? result.final.valAccuracy;
    return {
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      bestValAccuracy: bestVal ?? null,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      seconds: result.seconds,
      samplesPerSecond: result.samplesPerSecond,
    };
  } finally {
    model.dispose();
  }
}

/** For tests: forget the per-process caches. */
export function resetJobCaches(): void {
  surrogateCache?.model.dispose();
  dataCache = surrogateCache = poisonCache = undefined;
}
