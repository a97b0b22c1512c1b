import * as tf from '@tensorflow/tfjs';
import { numSamples } from '../data/dataset.js';
import { check, checkNumber } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { type DeviceData, evaluateDevice, upload } from './evaluate.js';
import { atLeastAsGood, checkKeepBest, DEFAULT_KEEP_BEST, scoreOf, worstScore } from './keep-best.js';
import { checkCompatible, defaultLoss } from './losses.js';
import {
  dropoutLayers,
  loadTrainState,
  removeTrainState,
  saveTrainState,
  type TrainState,
} from './resume.js';
import { Sgd } from './sgd.js';
import { chooseStepStrategy, type MinibatchStep, minibatchStep, type StepStrategy } from './step.js';
import { trainToyNtkOnline } from './toy-ntk-online.js';
import { trainTwoLayerOnline } from './two-layer-fast.js';
import type { EpochMetrics, LossKind, TrainData, TrainOptions, TrainResult } from './types.js';

/** Batch size used for the per-epoch evaluation passes. */
const EVAL_BATCH = 500;

/** Validate the options; one-line errors. */

/** Training stopped on request (checkpoint.stop) after `epoch`, its state written to `path` to continue from. */
export class TrainingStopped extends Error {
  override readonly name = 'TrainingStopped';
  constructor(
    readonly epoch: number,
    readonly path: string,
  ) {
    super(`stopped on request after epoch ${epoch}; its state is in ${path}`);
  }
}

export function checkTrainOptions(opts: TrainOptions): void {
  checkNumber(opts.epochs, 'epochs', { integer: true, min: 1 });
  checkNumber(opts.batchSize, 'batch size', { integer: true, min: 1 });
  checkNumber(opts.lr, 'learning rate', { min: 0 });
  checkNumber(opts.momentum ?? 0, 'momentum', { min: 0, max: 1 });
  checkNumber(opts.weightDecay ?? 0, 'weight decay', { min: 0 });
  if (opts.patience !== undefined) checkNumber(opts.patience, 'patience', { integer: true, min: 1 });
  if (opts.lrDecay !== undefined) {
    checkNumber(opts.lrDecay.every, 'learning-rate decay interval (epochs)', { integer: true, min: 1 });
    checkNumber(opts.lrDecay.factor, 'learning-rate decay factor', { min: 0 });
  }
  checkNumber(opts.seed, 'seed', { integer: true });
  if (opts.loss !== undefined) {
    check(
      opts.loss === 'crossentropy' || opts.loss === 'logistic' || opts.loss === 'bce-onehot',
      `loss: expected crossentropy, logistic or bce-onehot, got ${opts.loss}`,
    );
  }
  if (opts.keepBest !== undefined) checkKeepBest(opts.keepBest);
}

/** The learning rate of epoch `epoch` (1-based) under `opts.lrDecay` (see TrainOptions). */
export function learningRateAt(opts: Pick<TrainOptions, 'lr' | 'lrDecay'>, epoch: number): number {
  const d = opts.lrDecay;
  return d ? opts.lr * d.factor ** Math.floor(epoch / d.every) : opts.lr;
}

/**
 * Train `model` in place by minibatch SGD (PyTorch's update with momentum and weight decay, see Sgd) on `data.train`, with a
 * seeded minibatch order (a fresh Rng permutation per epoch; the last batch of an epoch may be smaller).
 * Each dataset is uploaded to the backend once; minibatches are taken with tf.gather.
 *
 * After every epoch the model is evaluated on the validation and test sets (inference mode). With
 * `patience` and a validation set, training stops after `patience` epochs without a validation accuracy at
 * least as good as the best (the original's rule: ties count as better); with a validation set, the weights of the best-validation epoch are restored at the end.
 * `keepBest` changes the rule: the lowest validation loss instead of the highest accuracy, and/or checked after
 * every SGD step instead of every epoch (the original toy's rule); `final` then holds the metrics of the kept step.
 * The train metrics of an epoch are the running means over its minibatches (training mode); `final`
 * holds the metrics of the weights the model ends with.
 *
 * How each step runs is picked once, from the model's spec (chooseStepStrategy in step.ts): the theory's
 * 'twolayer' net with the logistic loss takes an exact plain-JS path at batch size 1 (the theory's online
 * SGD; tfjs's per-op overhead dominates there) and a fused step with plain SGD otherwise; both give the
 * generic path's weights up to float rounding.
 */
export async function train(
  model: tf.LayersModel,
  data: TrainData,
  opts: TrainOptions,
): Promise<TrainResult> {
  return trainWithStrategy(model, data, opts);
}

/**
 * `train`, with the step strategy forced when `strategy` is given (for tests that compare the paths;
 * not part of the package's API).
 */
export async function trainWithStrategy(
  model: tf.LayersModel,
  data: TrainData,
  opts: TrainOptions,
  strategy?: StepStrategy,
): Promise<TrainResult> {
  checkTrainOptions(opts);
  const kind: LossKind = opts.loss ?? defaultLoss(model);
  checkCompatible(model, data.train, kind);
  check(numSamples(data.train) > 0, `${data.train.name}: the training set is empty`);
  if (data.val) checkCompatible(model, data.val, kind);
  if (data.test) checkCompatible(model, data.test, kind);

  const train = upload(data.train);
  const val = data.val && numSamples(data.val) > 0 ? upload(data.val) : undefined;
  const test = data.test && numSamples(data.test) > 0 ? upload(data.test) : undefined;
  const optimizer = new Sgd(opts.lr, opts.momentum ?? 0, opts.weightDecay ?? 0);
  let best: tf.Tensor[] | undefined;
  try {
    const keep = opts.keepBest ?? DEFAULT_KEEP_BEST;
    const perStep = val !== undefined && keep.every === 'step';
    // A schedule changes the rate between epochs: the generic step reads it from the optimiser on every update.
    const chosen =
      strategy ??
      (opts.lrDecay || opts.perturbBatch
        ? 'generic'
        : chooseStepStrategy(model, kind, optimizer, opts.batchSize, perStep));
    check(
      !(perStep && chosen === 'two-layer-online'),
      'keepBest every step: the two-layer online path cannot validate mid-epoch, expected another step strategy',
    );
    const fast = chosen === 'two-layer-online' || chosen === 'toy-ntk-online';
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const rng = new Rng(opts.seed);
    const dropouts = dropoutLayers(model);
    let history: EpochMetrics[] = [];
    let bestEpoch = 0;
    let bestStep = 0;
    let bestVal = worstScore(keep.by);
    let trainSeconds = 0;
    let samples = 0;
    let firstEpoch = 1;
    const ckpt = opts.checkpoint;
    const fingerprint = ckpt
      ? JSON.stringify({
          tag: ckpt.tag ?? '',
          epochs: opts.epochs,
          batchSize: opts.batchSize,
          lr: opts.lr,
          momentum: opts.momentum ?? 0,
          weightDecay: opts.weightDecay ?? 0,
          patience: opts.patience ?? null,
          ...(opts.lrDecay && { lrDecay: opts.lrDecay }),
          kind,
          seed: opts.seed,
          fast,
          ...(opts.keepBest && { keepBest: opts.keepBest }),
          ...(opts.perturbBatch && { adversarial: true }),
          n: [train.n, val?.n ?? 0, test?.n ?? 0],
          weights: model.weights.map((w) => w.shape),
        })
      : '';
    const restored = ckpt ? loadTrainState(ckpt.path, fingerprint) : undefined;
    let lastSave = performance.now();
    if (restored) {
      model.weights.forEach((w, i) => {
        const t = tf.tensor(restored.weights[i]!, w.shape as number[], 'float32');
        w.write(t);
        t.dispose();
      });
      if (restored.best && val)
        best = model.weights.map((w, i) => tf.tensor(restored.best![i]!, w.shape as number[], 'float32'));
      if (!fast) optimizer.setVelocities(vars, restored.velocities);
      rng.setState(restored.rng);
      dropouts.forEach((d, i) => {
        if (restored.dropout[i]) d.maskRng.setState(restored.dropout[i]!);
      });
      ({ history, bestEpoch, trainSeconds, samples } = restored);
      bestVal = Number.isFinite(restored.bestVal) ? restored.bestVal : worstScore(keep.by);
      bestStep = restored.bestStep ?? 0;
      firstEpoch = restored.epoch + 1;
    }
    // The online paths read the (possibly restored) weights when they are created.
    const toyNtk = chosen === 'toy-ntk-online' ? trainToyNtkOnline(model, data.train, opts.lr) : undefined;
    const stepper = chosen === 'two-layer-online' ? trainTwoLayerOnline(model, data.train, opts) : toyNtk;
    const step = minibatchStep(model, vars, optimizer, kind, chosen);
    if (stepper?.velocity && restored?.velocities[0]) stepper.velocity.set(restored.velocities[0]);
    const stoppedEarly = (epoch: number) =>
      opts.patience !== undefined && val !== undefined && epoch - bestEpoch >= opts.patience;
    const started = performance.now();
    const elapsedBefore = restored ? restored.history.reduce((a, m) => a + m.seconds, 0) : 0;
    if (restored && stoppedEarly(restored.epoch)) firstEpoch = opts.epochs + 1;
    let epoch = firstEpoch;
    let stepsDone = (firstEpoch - 1) * Math.ceil(train.n / opts.batchSize);
    // keepBest every step: validate after each update and keep the weights of the best score so far.
    const afterStep = perStep
      ? () => {
          stepsDone++;
          const m = toyNtk ? toyNtk.evaluate(data.val!) : evaluateDevice(model, val!, kind, EVAL_BATCH);
          const score = scoreOf(keep.by, m);
          if (!atLeastAsGood(keep.by, score, bestVal)) return;
          bestVal = score;
          bestEpoch = epoch;
          bestStep = stepsDone;
          for (const t of best ?? []) t.dispose();
          best = toyNtk ? toyNtk.snapshot() : model.weights.map((w) => tf.clone(w.read()));
        }
      : undefined;
    for (; epoch <= opts.epochs; epoch++) {
      const epochStart = performance.now();
      if (opts.lrDecay) optimizer.setLearningRate(learningRateAt(opts, epoch));
      const order = rng.permutation(train.n);
      const running = stepper
        ? stepper.epoch(order, opts.onBatch, afterStep)
        : runEpoch(model, step, train, order, opts, afterStep);
      const trainDone = performance.now();
      trainSeconds += (trainDone - epochStart) / 1000;
      samples += train.n;
      const metrics: EpochMetrics = {
        epoch,
        trainLoss: running.loss,
        trainAccuracy: running.accuracy,
        seconds: 0,
      };
      if (val) {
        const m = evaluateDevice(model, val, kind, EVAL_BATCH);
        metrics.valLoss = m.loss;
        metrics.valAccuracy = m.accuracy;
      }
      if (test) {
        const m = evaluateDevice(model, test, kind, EVAL_BATCH);
        metrics.testLoss = m.loss;
        metrics.testAccuracy = m.accuracy;
      }
      metrics.seconds = (performance.now() - epochStart) / 1000;
      history.push(metrics);
      // A tie counts as better, as in the original (mnist_ntk.py: `if val_acc >= bestacc`): the later of
      // equal validation accuracies is kept and patience restarts.
      if (!val) bestEpoch = epoch;
      else if (!perStep) {
        const score = scoreOf(keep.by, { loss: metrics.valLoss!, accuracy: metrics.valAccuracy! });
        if (atLeastAsGood(keep.by, score, bestVal)) {
          bestEpoch = epoch;
          bestVal = score;
          for (const t of best ?? []) t.dispose();
          best = model.weights.map((w) => tf.clone(w.read()));
        }
      }
      // Not after the last epoch: training ends right after it, so there is nothing to resume. Not sooner than
      // `everySeconds` after the last write: a wide network's state is hundreds of MB, its epochs seconds long.
      const due = ckpt && performance.now() - lastSave >= 1000 * (ckpt.everySeconds ?? 0);
      const save = () => {
        if (!ckpt) return;
        const state: TrainState = {
          epoch,
          bestEpoch,
          ...(perStep && { bestStep }),
          bestVal,
          trainSeconds,
          samples,
          history,
          rng: rng.getState(),
          dropout: dropouts.map((d) => d.maskRng.getState()),
          weights: model.weights.map((w) => (w.read().dataSync() as Float32Array).slice()),
          ...(best && { best: best.map((t) => (t.dataSync() as Float32Array).slice()) }),
          velocities: stepper
            ? [stepper.velocity ? stepper.velocity.slice() : null]
            : optimizer.velocities(vars),
        };
        saveTrainState(ckpt.path, fingerprint, state);
        lastSave = performance.now();
      };
      const resumable = epoch < opts.epochs && !stoppedEarly(epoch);
      if (due && resumable) save();
      opts.onEpoch?.(metrics);
      // Let timers, progress output and messages (a stop request) run between epochs.
      await new Promise((resolve) => setImmediate(resolve));
      if (ckpt?.stop?.() && resumable) {
        if (!due) save();
        throw new TrainingStopped(epoch, ckpt.path);
      }
      if (stoppedEarly(epoch)) break;
    }
    if (best) {
      model.weights.forEach((w, i) => {
        w.write(best![i]!);
      });
    }
    const finalTrain = evaluateDevice(model, train, kind, EVAL_BATCH);
    // The kept weights' own metrics: those of its epoch, or (kept mid-epoch) measured again now.
    const at: Partial<EpochMetrics> =
      perStep && best ? keptStepMetrics(model, kind, val, test) : history[bestEpoch - 1]!;
    if (ckpt) removeTrainState(ckpt.path);
    return {
      epochs: history.length,
      bestEpoch,
      ...(perStep && { bestStep }),
      history,
      final: {
        trainLoss: finalTrain.loss,
        trainAccuracy: finalTrain.accuracy,
        ...(at.valLoss === undefined ? {} : { valLoss: at.valLoss, valAccuracy: at.valAccuracy }),
        ...(at.testLoss === undefined ? {} : { testLoss: at.testLoss, testAccuracy: at.testAccuracy }),
      },
      seconds: elapsedBefore + (performance.now() - started) / 1000,
      resumedAfter: restored?.epoch ?? 0,
      samplesPerSecond: samples / Math.max(trainSeconds, 1e-9),
    };
  } finally {
    for (const t of best ?? []) t.dispose();
    optimizer.dispose();
    for (const d of [train, val, test]) {
      d?.x.dispose();
      d?.y.dispose();
    }
  }
}

/** Validation and test metrics of the model's current weights (undefined parts left out). */
function keptStepMetrics(
  model: tf.LayersModel,
  kind: LossKind,
  val: DeviceData | undefined,
  test: DeviceData | undefined,
): Partial<EpochMetrics> {
  const v = val && evaluateDevice(model, val, kind, EVAL_BATCH);
  const t = test && evaluateDevice(model, test, kind, EVAL_BATCH);
  return {
    ...(v && { valLoss: v.loss, valAccuracy: v.accuracy }),
    ...(t && { testLoss: t.loss, testAccuracy: t.accuracy }),
  };
}

/** One epoch of minibatch SGD over `order` (`afterStep` after each update); returns the running means. */
function runEpoch(
  model: tf.LayersModel,
  step: MinibatchStep,
  train: DeviceData,
  order: Int32Array,
  opts: TrainOptions,
  afterStep?: () => void,
): { loss: number; accuracy: number } {
  let lossSum = tf.scalar(0);
  let correctSum = tf.scalar(0);
  for (let start = 0; start < train.n; start += opts.batchSize) {
    const size = Math.min(opts.batchSize, train.n - start);
    const idx = tf.tensor1d(order.subarray(start, start + size), 'int32');
    const next = tf.tidy(() => {
      const raw = tf.gather(train.x, idx);
      const yb = tf.gather(train.y, idx);
      const xb = opts.perturbBatch ? opts.perturbBatch(model, raw, yb) : raw;
      const { loss, correct } = step(xb, yb);
      return [tf.add(lossSum, tf.mul(loss, size)), tf.add(correctSum, correct)];
    });
    idx.dispose();
    lossSum.dispose();
    correctSum.dispose();
    [lossSum, correctSum] = next as [tf.Scalar, tf.Scalar];
    opts.onBatch?.(start + size, train.n);
    afterStep?.();
  }
  const loss = lossSum.dataSync()[0]! / train.n;
  const accuracy = correctSum.dataSync()[0]! / train.n;
  lossSum.dispose();
  correctSum.dispose();
  return { loss, accuracy };
}
