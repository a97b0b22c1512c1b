/**
 * The real sweep tasks, run inside a worker process: train the surrogate, generate one (regime, repetition)
 * poison over the whole training set, or train and evaluate one (regime, width, repetition, fold) run.
 * Datasets, the surrogate and the last poison are cached per worker process.
 */
import type * as tf from '@tensorflow/tfjs';
import { type AscentCheckpoint, removeAscentState } from '../attacks/ascent-state.js';
import { type Attack, createRegisteredAttack, getAttackEntry } from '../attacks/index.js';
import { resolveSurrogatePath } from '../attacks/pretrained.js';
import { arithmeticLabel, initBackend } from '../backend/index.js';
import type { AttackRef } from '../config/schema.js';
import { hasValidation } from '../config/schema.js';
import {
  type Dataset,
  type DatasetSplit,
  numClasses,
  numSamples,
  sampleSize,
  take,
} from '../data/dataset.js';
import { datasetNormalization } from '../data/defaults.js';
import { loadDataset } from '../data/index.js';
import { readPoisonFile, writePoisonFile } from '../data/poison-file.js';
import { createDefence, type DefenceOutcome, penultimateFeatures } from '../defences/index.js';
import { createModel } from '../models/index.js';
import { epochRecord, type RunMetrics, sweepPaths } from '../results/index.js';
import { evaluate, fit, namedMetrics, type TrainingProtocol, targetMetrics } from '../train/index.js';
import { loadSurrogate, saveSurrogate, trainSurrogate } from '../train/surrogate.js';
import type { BatchPerturbation } from '../train/types.js';
import { check } from '../util/errors.js';
import { foldSeed, type PoisonSpec, poisonSeed, type RunSpec, targetedAttacks } from './plan.js';
import type { SweepTask, TaskContext, TaskEpoch, TaskProgress, TaskResult } from './tasks.js';
import { computeTheoryOverlay } from './theory-task.js';

/** A run's training state is saved after an epoch at most this often (a resumed run loses less than this). */
const CHECKPOINT_EVERY_SECONDS = 60;

let dataCache: { hash: string; data: DatasetSplit } | undefined;
let surrogateCache: { path: string; model: tf.LayersModel } | undefined;
let poisonCache: { path: string; data: Dataset; mask: Uint8Array } | undefined;
/** The current task's stop request (runTask's shouldStop), and the epoch its run resumed after. */
let stopRequested: () => boolean = () => false;
let resumedAfter = 0;

/** Run one sweep task (the TaskModule interface of ./tasks.ts). */
export async function runTask(
  task: SweepTask,
  ctx: TaskContext,
  onProgress: TaskProgress,
  onEpoch?: TaskEpoch,
  shouldStop?: () => boolean,
): Promise<TaskResult> {
  stopRequested = shouldStop ?? (() => false);
  resumedAfter = 0;
  await initBackend({ quiet: true });
  const data = await loadData(ctx);
  switch (task.kind) {
    case 'surrogate':
      return runSurrogate(ctx, data, onProgress);
    case 'theory':
      return { kind: 'theory', overlay: computeTheoryOverlay(ctx.config, ctx.hash, data) };
    case 'poison':
      return runPoison(task.poison, ctx, data, onProgress);
    case 'train': {
      const metrics = await runTrain(task.run, ctx, data, onProgress, onEpoch);
      return { kind: 'train', metrics, ...(resumedAfter > 0 && { resumedAfter }) };
    }
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
    // A surrogate on its own training slice is measured on the whole official test set, not the sweep's slice.
    const c = ctx.config;
    data = await loadDataset(c.dataset, {
      limit: s.limit,
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
    ...(s.lrDecay && { lrDecay: s.lrDecay }),
    ...(s.momentum !== undefined && { momentum: s.momentum }),
    ...(ctx.config.normalize && { normalize: datasetNormalization(ctx.config.dataset) }),
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
  // Sample-size sweeps poison the first n samples only (the budget C sqrt(n) is relative to that n).
  const clean = sizedTrain(data.train, p.size, p.key);
  // A killed attack continues from its last save (at most a minute of ascent lost, not hours).
  const checkpoint: AscentCheckpoint = {
    path: sweepPaths(ctx.out).checkpoint(`poison/${p.key}`),
    // What the poison depends on (not the whole config: more widths or repetitions keep an attack's progress).
    fingerprint: JSON.stringify({
      dataset: c.dataset,
      limit: c.limit ?? null,
      classes: c.classes ?? null,
      surrogate: c.surrogate ?? null,
      attack: p.attack,
      seed: p.seed,
      size: p.size ?? null,
    }),
    everySeconds: CHECKPOINT_EVERY_SECONDS,
  };
  const { dataset, deltaNorm, report, poisonMask } = await runAttack(
    p,
    ctx,
    clean,
    data.test,
    onProgress,
    checkpoint,
  );
  const path = sweepPaths(ctx.out).poison(p.key);
  // The file of `poisonlab poison`, so that `poisonlab train --dataset <this file>` reads it too.
  writePoisonFile(
    path,
    dataset,
    { deltaNorm, poisonMask },
    {
      attack: p.attack.name,
      regime: p.regime?.regime ?? p.attack.name,
      params: report.params,
      seed: p.seed,
      dataset: c.dataset,
      limit: p.size ?? c.limit ?? null,
      ...(c.classes !== undefined && { classes: c.classes }),
      sweep: { configHash: ctx.hash, poisonKey: p.key },
      report,
    },
  );
  removeAscentState(checkpoint);
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

/** The registry attack of a sweep entry, with the repetition's seed. */
function attackOf(ref: AttackRef, seed: number): Attack {
  const entry = getAttackEntry(ref.name);
  const withSeed = 'seed' in entry.params.shape ? { ...ref.params, seed } : { ...ref.params };
  return createRegisteredAttack(ref.name, withSeed);
}

/** Make the poison of `p` with its registry attack (against the surrogate where the entry needs one). */
async function runAttack(
  p: PoisonSpec,
  ctx: TaskContext,
  clean: Dataset,
  test: Dataset,
  onProgress: TaskProgress,
  checkpoint: AscentCheckpoint,
) {
  const attack = attackOf(p.attack, p.seed);
  const needs = getAttackEntry(p.attack.name).needs.surrogate;
  const surrogate = needs ? getSurrogate(ctx, clean) : undefined;
  return attack.poison(clean, {
    ...(surrogate && { surrogate }),
    // a targeted attack picks its targets from the clean test set (Attack.targets)
    test,
    onProgress: (done, total) => onProgress(done, total),
    checkpoint,
  });
}

/**
 * The poisoned training set of a run, read from its cached .npz (the clean set for clean runs), and which samples
 * are poisoned: the file's poison_mask, or (files made before it existed) the samples whose x or y differ.
 */
function trainingSet(run: RunSpec, ctx: TaskContext, all: Dataset): { data: Dataset; mask?: Uint8Array } {
  const clean = sizedTrain(all, run.size, run.key);
  if (!run.poisonKey) return { data: clean };
  const path = sweepPaths(ctx.out).poison(run.poisonKey);
  if (poisonCache?.path === path) return { data: poisonCache.data, mask: poisonCache.mask };
  const file = readPoisonFile(path);
  const n = numSamples(clean);
  check(
    numSamples(file.data) === n && sampleSize(file.data) === sampleSize(clean),
    `${path}: expected the ${n} training samples of shape [${clean.sampleShape}], found ${numSamples(file.data)} of [${file.data.sampleShape}]`,
  );
  const data: Dataset = {
    ...clean,
    name: `${clean.name} (${run.poisonKey})`,
    x: file.data.x,
    y: file.data.y,
  };
  const mask = file.poisonMask ?? diffMask(clean, data);
  poisonCache = { path, data, mask };
  return { data, mask };
}

/** 1 where the poisoned sample's input or label differs from the clean one. */
function diffMask(clean: Dataset, poisoned: Dataset): Uint8Array {
  const n = numSamples(clean);
  const d = clean.x.length / Math.max(1, n);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (clean.y[i] !== poisoned.y[i]) mask[i] = 1;
    else
      for (let j = i * d; j < (i + 1) * d; j++)
        if (clean.x[j] !== poisoned.x[j]) {
          mask[i] = 1;
          break;
        }
  }
  return mask;
}

async function runTrain(
  run: RunSpec,
  ctx: TaskContext,
  data: DatasetSplit,
  onProgress: TaskProgress,
  onEpoch?: TaskEpoch,
): Promise<RunMetrics> {
  const { data: poisoned, mask } = trainingSet(run, ctx, data.train);
  // the attacks as the repetition's poisons were made: a backdoor's trigger and a targeted attack's targets come
  // from that seed
  const attackSeed = poisonSeed(ctx.config, run.repetition);
  const attack = run.attack && attackOf(run.attack, attackSeed);
  let full = poisoned;
  let defence: DefenceOutcome | undefined;
  const total = run.defence ? 2 : 1;
  let stage = 0;
  const progress: TaskProgress = (done, all) => onProgress(stage * all + done, total * all);
  if (run.defence) {
    // Between poisoning and training: feature-based defences read the penultimate layer (width m) of a network
    // of this run's width trained on the poisoned set; the run then trains a fresh network on what is left.
    const d = createDefence(run.defence.name, run.defence.params ?? {});
    let features: { features: Float32Array; dim: number } | undefined;
    if (d.needs.features) {
      const probe = await fitModel(run, ctx, poisoned, progress, { phase: 'probe' });
      try {
        features = penultimateFeatures(probe.model, poisoned, { seed: run.seed });
      } finally {
        probe.model.dispose();
      }
    }
    stage = 1;
    defence = await d.apply({
      data: poisoned,
      ...(features && { features: features.features, featureDim: features.dim }),
      ...(mask && { poisonMask: mask }),
    });
    full = defence.dataset;
  }
  const test = defence?.transformInputs ? defence.transformInputs(data.test) : data.test;
  const { model, result } = await fitModel(run, ctx, full, progress, {
    test,
    ...(onEpoch && { onEpoch }),
    ...(defence?.perturbTrainingBatch && { perturbBatch: defence.perturbTrainingBatch }),
  });
  try {
    // Clean test accuracy of the best-validation weights (train restored them).
    const ev = evaluate(model, test, ctx.config.training.loss ? { loss: ctx.config.training.loss } : {});
    // final holds the kept weights' validation accuracy (of their epoch, or of their step with keepBest every step)
    const bestVal = result.final.valAccuracy;
    const metrics: Record<string, number | null> = {
      testAccuracy: ev.accuracy,
      ...namedMetrics(
        model,
        data.test,
        attack?.trigger,
        defence?.transformInputs,
        attack?.targets?.(data.test),
      ),
    };
    if (mask) metrics['poisonedFraction'] = mask.reduce((a, b) => a + b, 0) / mask.length;
    // A clean run scores the targets its repetition's targeted attacks chose: the same targets and the same
    // initialisation without the poison, the reference of the report's margin gain (results/clean-twin.ts).
    if (!run.attack)
      for (const t of targetedAttacks(ctx.config)) {
        const targets = attackOf(t.attack, attackSeed).targets?.(data.test);
        if (targets) metrics[`targetMargin.${t.label}`] = targetMetrics(model, targets).targetMargin ?? null;
      }
    if (defence) {
      metrics['defenceRemoved'] = defence.report.removed.length;
      metrics['defencePrecision'] = defence.report.precision;
      metrics['defenceRecall'] = defence.report.recall;
      metrics['defenceTransformed'] = defence.report.transformed;
      // test-time defences (STRIP) inspect the trained network on the clean and the triggered test images
      if (defence.inspectTrained)
        Object.assign(metrics, defence.inspectTrained(model, data.test, attack?.trigger));
    }
    const arithmetic = arithmeticLabel();
    return {
      testAccuracy: ev.accuracy,
      testLoss: ev.loss,
      bestValAccuracy: bestVal ?? null,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      seconds: result.seconds,
      samplesPerSecond: result.samplesPerSecond,
      metrics,
      ...(arithmetic !== undefined && { arithmetic }),
    };
  } finally {
    model.dispose();
  }
}

/**
 * Train a fresh network of the run's width on `full` with the sweep's protocol (k-fold split, early stopping).
 * The run's own fit evaluates `test` after every epoch and reports each epoch (the store's history); a defence's
 * probe network (phase 'probe') keeps a checkpoint of its own, so that a resumed run never mixes the two.
 */
async function fitModel(
  run: RunSpec,
  ctx: TaskContext,
  full: Dataset,
  onProgress: TaskProgress,
  opts: { test?: Dataset; onEpoch?: TaskEpoch; phase?: 'probe'; perturbBatch?: BatchPerturbation } = {},
) {
  const c = ctx.config;
  const key = opts.phase ? `${run.key}/${opts.phase}` : run.key;
  const model = createModel(c.model, {
    width: run.width,
    inputShape: [...full.sampleShape],
    numClasses: numClasses(full),
    seed: run.seed,
    // The original normalises CIFAR-10 inside its classifier (ART preprocessing, cifar_ntk.py line 205).
    ...(c.normalize && { normalize: datasetNormalization(c.dataset) }),
    ...(c.modelParams && { params: c.modelParams }),
  });
  try {
    const maxEpochs = c.training.maxEpochs;
    let epoch = 0;
    // The paper's protocol: stratified k-fold over the (poisoned) training set, validation on the held-out fold;
    // without k-fold (the theory toy) everything trains, no validation, no early stopping.
    const protocol: TrainingProtocol = {
      ...c.training,
      ...(hasValidation(c) && { folds: { k: c.folds!.k, fold: run.fold, seed: foldSeed(c, run) } }),
    };
    const result = await fit(model, full, protocol, {
      seed: run.seed,
      ...(opts.test && { test: opts.test }),
      // A killed or re-delivered run continues after its last finished epoch, with the same numbers.
      // At most one write a minute: a width-5e4 state is 132 MB and takes 1.0-1.2 s to write (measured), ~7 % of
      // its 15-17 s epochs when written after each.
      checkpoint: {
        path: sweepPaths(ctx.out).checkpoint(key),
        tag: `${ctx.hash}/${key}`,
        everySeconds: CHECKPOINT_EVERY_SECONDS,
        stop: () => stopRequested(),
      },
      onEpoch: (m) => {
        epoch = m.epoch;
        opts.onEpoch?.(epochRecord(m));
      },
      onBatch: (done, total) => onProgress(epoch * total + done, maxEpochs * total),
      ...(opts.perturbBatch && { perturbBatch: opts.perturbBatch }),
    });
    if (!opts.phase) resumedAfter = result.resumedAfter;
    return { model, result };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** For tests: forget the per-process caches. */
export function resetJobCaches(): void {
  surrogateCache?.model.dispose();
  dataCache = surrogateCache = poisonCache = undefined;
}
