/**
 * What regimes A and B share: option checks, the surrogate's compatibility with the data, running
 * the projected gradient ascent, and measuring the poison it produced.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { type Dataset, numClasses, numSamples, sampleSize } from '../data/dataset.js';
import { SeededDropout } from '../models/seeded-dropout.js';
import { check, checkNumber, PoisonlabError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { AscentCheckpoint } from './ascent-state.js';
import {
  type AscentOptions,
  type ProjectEvery,
  projectedGradientAscent,
  stepsPerEpoch,
} from './gradient-ascent.js';
import { checkSurrogateView, evaluateSurrogate, type Reduction, type SurrogateView } from './objective.js';
import type { PoisonResult, Regime } from './types.js';

/** Options common to the gradient attacks (regimes A and B). */
export interface AscentAttackOptions {
  /** Passes over the data (the original: 500). */
  epochs: number;
  /** Step size eta (the original: 0.1 on MNIST, 0.5 on CIFAR-10). */
  step: number;
  /** Minibatch size (the original: 128). */
  batchSize?: number;
  seed: number;
  /** When the budget projection runs (the original: once per epoch). */
  projectEvery?: ProjectEvery;
  /** Pixel range x + delta is clipped to after every step; null for none (default [0, 1]). */
  clip?: readonly [number, number] | null;
  /** 'mean' (default, the original's torch CE) or 'sum' over the minibatch. */
  reduction?: Reduction;
  /**
   * 'eval' (default): the surrogate runs in inference mode; 'train': in training mode, its dropout masks drawn
   * from streams seeded by `seed` (the original's CIFAR attack: AlexNet never put in eval mode).
   */
  surrogateMode?: 'eval' | 'train';
  /** 'raw' (default, the original): x + delta goes past the surrogate's input normalisation; 'normalized': through it. */
  surrogateInput?: 'raw' | 'normalized';
  /** Called after every step, for progress bars. */
  onProgress?: (stepDone: number, stepsTotal: number) => void;
  /**
   * Save the ascent's state at epoch ends and resume from it. The attack adds its own settings to the
   * fingerprint, so the caller's fingerprint need only name the data and the surrogate.
   */
  checkpoint?: AscentCheckpoint;
}

/** The options with defaults filled in and checked; errors name the option. */
export function resolveAscentOptions(o: AscentAttackOptions): Required<
  Omit<AscentAttackOptions, 'onProgress' | 'checkpoint' | 'surrogateMode' | 'surrogateInput'>
> & {
  surrogate: SurrogateView;
} {
  const batchSize = o.batchSize ?? 128;
  checkNumber(o.epochs, 'attack epochs', { min: 0, integer: true });
  checkNumber(o.step, 'attack step size eta', { min: 0 });
  checkNumber(batchSize, 'attack batch size', { min: 1, integer: true });
  checkNumber(o.seed, 'attack seed', { min: 0, integer: true });
  const projectEvery = o.projectEvery ?? 'epoch';
  check(
    projectEvery === 'epoch' || projectEvery === 'step',
    `attack projectEvery: expected 'epoch' or 'step', got '${projectEvery}'`,
  );
  const reduction = o.reduction ?? 'mean';
  check(
    reduction === 'mean' || reduction === 'sum',
    `attack reduction: expected 'mean' or 'sum', got '${reduction}'`,
  );
  const mode = o.surrogateMode ?? 'eval';
  check(
    mode === 'eval' || mode === 'train',
    `attack surrogateMode: expected 'eval' or 'train', got '${mode}'`,
  );
  const input = o.surrogateInput ?? 'raw';
  check(
    input === 'raw' || input === 'normalized',
    `attack surrogateInput: expected 'raw' or 'normalized', got '${input}'`,
  );
  const clip = o.clip === undefined ? ([0, 1] as const) : o.clip;
  if (clip) {
    check(
      Number.isFinite(clip[0]) && Number.isFinite(clip[1]) && clip[0] <= clip[1],
      `attack clip range: expected [lo, hi] with lo <= hi, got [${clip}]`,
    );
  }
  return {
    epochs: o.epochs,
    step: o.step,
    batchSize,
    seed: o.seed,
    projectEvery,
    clip,
    reduction,
    surrogate: { mode, input },
  };
}

/**
 * Run `fn` with the surrogate's dropout mask streams seeded from `seed` (so that a 'train'-mode attack draws the
 * same masks for the same seed, whatever ran on the surrogate before), and put the streams back afterwards.
 */
function withSeededDropout<T>(model: tf.LayersModel, seed: number, fn: () => T): T {
  const drops = dropoutLayersOf(model);
  const saved = drops.map((d) => d.maskRng.getState());
  const seeds = new Rng(seed ^ 0xd50f);
  for (const d of drops) d.maskRng.setState(new Rng(seeds.seed()).getState());
  try {
    return fn();
  } finally {
    drops.forEach((d, i) => {
      d.maskRng.setState(saved[i]!);
    });
  }
}

/** The surrogate's seeded dropout layers, in layer order. */
function dropoutLayersOf(model: tf.LayersModel): SeededDropout[] {
  return model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
}

/** The resolved options as an ascent checkpoint's fingerprint names them. */
function fingerprintOptions(o: ReturnType<typeof resolveAscentOptions>): object {
  const { surrogate, ...rest } = o;
  return surrogate.mode === 'eval' && surrogate.input === 'raw' ? rest : o;
}

/** Check that `surrogate` takes samples of the data's shape and outputs one logit per class (or 1 for 2 classes). */
export function checkSurrogateFits(
  surrogate: tf.LayersModel | undefined,
  data: Dataset,
  regime: Regime | string,
): tf.LayersModel {
  if (!surrogate)
    throw new PoisonlabError(
      `${regime.length === 1 ? `regime ${regime}` : regime} attack: a surrogate model is required (its gradients drive the poison)`,
    );
  const inShape = surrogate.inputs[0]!.shape.slice(1);
  check(
    inShape.length === data.sampleShape.length &&
      inShape.every((v, i) => v === null || v === data.sampleShape[i]),
    `surrogate input shape [${inShape}] does not match the samples of ${data.name}, of shape [${data.sampleShape}]`,
  );
  const outShape = surrogate.outputs[0]!.shape;
  const outputs = outShape[outShape.length - 1];
  const k = numClasses(data);
  check(
    outputs === k || (outputs === 1 && k === 2),
    `surrogate outputs ${outputs} logits but ${data.name} has ${k} classes`,
  );
  return surrogate;
}

/**
 * Run the ascent on `data` against `surrogate`, project with `project`, and measure the result.
 * The returned dataset holds clip(x + delta) with the labels unchanged.
 */
export function runPerturbationAttack(
  data: Dataset,
  surrogate: tf.LayersModel,
  regime: Regime,
  budget: number,
  options: AscentAttackOptions,
  direction: AscentOptions['direction'],
  project: (delta: tf.Tensor) => tf.Tensor,
  params: Record<string, number | string | boolean>,
): PoisonResult {
  const started = performance.now();
  const o = resolveAscentOptions(options);
  const n = numSamples(data);
  const x = tf.tensor(data.x, [n, ...data.sampleShape], 'float32');
  const y = tf.tensor1d(data.y, 'int32');
  try {
    checkSurrogateView(surrogate, o.surrogate);
    const before = evaluateSurrogate(surrogate, x, y, 256, o.surrogate.input);
    const checkpoint = options.checkpoint && {
      ...options.checkpoint,
      fingerprint: ascentFingerprint(options.checkpoint.fingerprint, {
        regime,
        budget,
        direction,
        n,
        // the surrogate's view only when it is not the default, so saves made before it existed still resume
        o: fingerprintOptions(o),
        params,
      }),
    };
    const ascend = () =>
      projectedGradientAscent(surrogate, x, y, {
        ...o,
        direction,
        project,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(checkpoint && { checkpoint }),
        // a 'train'-mode attack's dropout masks continue from the saved streams after a resume
        ...(o.surrogate.mode === 'train' && { streams: dropoutLayersOf(surrogate).map((d) => d.maskRng) }),
      });
    const { delta, priorSeconds, resumedEpoch } =
      o.surrogate.mode === 'train' ? withSeededDropout(surrogate, o.seed, ascend) : ascend();
    // Clip once more at the end: x + delta is in range in exact arithmetic (clipped each step, then
    // shrunk toward x), this only removes float rounding and can only shrink |delta|.
    const poisoned = tf.tidy(() =>
      o.clip ? tf.clipByValue(tf.add(x, delta), o.clip[0], o.clip[1]) : tf.add(x, delta),
    );
    delta.dispose();
    const after = evaluateSurrogate(surrogate, poisoned, y, 256, o.surrogate.input);
    const px = poisoned.dataSync() as Float32Array;
    poisoned.dispose();
    const measured = measurePerturbation(data.x, px, sampleSize(data));
    return {
      dataset: {
        name: `${data.name}+${regime}`,
        x: px,
        y: Int32Array.from(data.y),
        sampleShape: data.sampleShape,
        classNames: data.classNames,
      },
      deltaNorm: measured.norms,
      report: {
        regime,
        params: {
          ...params,
          epochs: o.epochs,
          step: o.step,
          batchSize: o.batchSize,
          seed: o.seed,
          projectEvery: o.projectEvery,
          reduction: o.reduction,
          surrogateMode: o.surrogate.mode!,
          surrogateInput: o.surrogate.input!,
          clip: o.clip ? `${o.clip[0]},${o.clip[1]}` : 'none',
          steps: o.epochs * stepsPerEpoch(n, o.batchSize),
        },
        n,
        budget,
        deltaNormSum: measured.sum,
        deltaNormMax: measured.max,
        budgetSpent: budgetSpent(regime, measured.sum, n, budget),
        samplesChanged: measured.changed,
        labelsFlipped: 0,
        surrogateBefore: before,
        surrogateAfter: after,
        seconds: priorSeconds + (performance.now() - started) / 1000,
        ...(resumedEpoch > 0 && { resumedEpoch }),
      },
    };
  } finally {
    x.dispose();
    y.dispose();
  }
}

/** The checkpoint fingerprint of one ascent: the caller's (data, surrogate) and every setting of the attack. */
function ascentFingerprint(caller: string, settings: object): string {
  return createHash('sha256').update(caller).update('\n').update(JSON.stringify(settings)).digest('hex');
}

/**
 * The fraction of a perturbation budget spent: regime A's budget is the l2,1 radius C sqrt(n), so
 * sum ||delta_i|| / (C sqrt(n)); regime B's is per sample, so mean ||delta_i|| / B.
 */
export function budgetSpent(regime: Regime, deltaNormSum: number, n: number, budget: number): number {
  return regime === 'B' ? deltaNormSum / n / budget : deltaNormSum / budget;
}

/** ||poisoned_i - clean_i||_2 per sample (float64 sums), their sum and max, and how many are non-zero. */
export function measurePerturbation(
  clean: Float32Array,
  poisoned: Float32Array,
  d: number,
): { norms: Float32Array; sum: number; max: number; changed: number } {
  const n = clean.length / d;
  const norms = new Float32Array(n);
  let sum = 0;
  let max = 0;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = i * d; k < (i + 1) * d; k++) {
      const e = poisoned[k]! - clean[k]!;
      s += e * e;
    }
    const r = Math.sqrt(s);
    norms[i] = r;
    sum += r;
    if (r > max) max = r;
    if (r > 0) changed++;
  }
  return { norms, sum, max, changed };
}
