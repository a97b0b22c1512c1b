import * as tf from '@tensorflow/tfjs';
import { numSamples } from '../data/dataset.js';
import { check, checkNumber } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { type DeviceData, evaluateDevice, upload } from './evaluate.js';
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
import { trainTwoLayerOnline } from './twoLayerFast.js';
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
  checkNumber(opts.seed, 'seed', { integer: true });
  if (opts.loss !== undefined) {
    check(
      opts.loss === 'crossentropy' || opts.loss === 'logistic',
      `loss: expected crossentropy or logistic, got ${opts.loss}`,
    );
  }
}

/**
 * Train `model` in place by minibatch SGD (PyTorch's update with momentum and weight decay, see Sgd) on `data.train`, with a
 * seeded minibatch order (a fresh Rng permutation per epoch; the last batch of an epoch may be smaller).
 * Each dataset is uploaded to the backend once; minibatches are taken with tf.gather.
 *
 * After every epoch the model is evaluated on the validation and test sets (inference mode). With
 * `patience` and a validation set, training stops after `patience` epochs without a validation accuracy at
 * least as good as the best (the original's rule: ties count as better); with a validation set, the weights of the best-validation epoch are restored at the end.
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
    const chosen = strategy ?? chooseStepStrategy(model, kind, optimizer, opts.batchSize);
    const fast = chosen === 'two-layer-online';
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const rng = new Rng(opts.seed);
    const dropouts = dropoutLayers(model);
    let history: EpochMetrics[] = [];
    let bestEpoch = 0;
    let bestVal = Number.NEGATIVE_INFINITY;
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
          kind,
          seed: opts.seed,
          fast,
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
      ({ history, bestEpoch, bestVal, trainSeconds, samples } = restored);
      firstEpoch = restored.epoch + 1;
    }
    // The online path reads the (possibly restored) weights when it is created.
    const stepper = fast ? trainTwoLayerOnline(model, data.train, opts) : undefined;
    const step = minibatchStep(model, vars, optimizer, kind, chosen);
    if (stepper?.velocity && restored?.velocities[0]) stepper.velocity.set(restored.velocities[0]);
    const stoppedEarly = (epoch: number) =>
      opts.patience !== undefined && val !== undefined && epoch - bestEpoch >= opts.patience;
    const started = performance.now();
    const elapsedBefore = restored ? restored.history.reduce((a, m) => a + m.seconds, 0) : 0;
    if (restored && stoppedEarly(restored.epoch)) firstEpoch = opts.epochs + 1;
    for (let epoch = firstEpoch; epoch <= opts.epochs; epoch++) {
      const epochStart = performance.now();
      const order = rng.permutation(train.n);
      const running = stepper ? stepper.epoch(order, opts.onBatch) : runEpoch(step, train, order, opts);
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
      if (!val || metrics.valAccuracy! >= bestVal) {
        bestEpoch = epoch;
        if (val) {
          bestVal = metrics.valAccuracy!;
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
    const at = history[bestEpoch - 1]!;
    if (ckpt) removeTrainState(ckpt.path);
    return {
      epochs: history.length,
      bestEpoch,
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

/** One epoch of minibatch SGD over `order`; returns the running mean loss and accuracy. */
function runEpoch(
  step: MinibatchStep,
  train: DeviceData,
  order: Int32Array,
  opts: TrainOptions,
): { loss: number; accuracy: number } {
  let lossSum = tf.scalar(0);
  let correctSum = tf.scalar(0);
  for (let start = 0; start < train.n; start += opts.batchSize) {
    const size = Math.min(opts.batchSize, train.n - start);
    const idx = tf.tensor1d(order.subarray(start, start + size), 'int32');
    const next = tf.tidy(() => {
      const xb = tf.gather(train.x, idx);
      const yb = tf.gather(train.y, idx);
      const { loss, correct } = step(xb, yb);
      return [tf.add(lossSum, tf.mul(loss, size)), tf.add(correctSum, correct)];
    });
    idx.dispose();
    lossSum.dispose();
    correctSum.dispose();
    [lossSum, correctSum] = next as [tf.Scalar, tf.Scalar];
    opts.onBatch?.(start + size, train.n);
  }
  const loss = lossSum.dataSync()[0]! / train.n;
  const accuracy = correctSum.dataSync()[0]! / train.n;
  lossSum.dispose();
  correctSum.dispose();
  return { loss, accuracy };
}
