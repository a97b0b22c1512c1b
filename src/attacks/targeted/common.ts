/**
 * What the targeted clean-label poisons of issue 21 share (gradient matching, Bullseye Polytope): the choice of
 * the adversarial class and of the target test images from the seed (`Attack.targets`), the choice of the poisons
 * among the training images of that class, the parameters in the papers' units, and a random l_inf start.
 *
 * Threat model (both papers): the attacker perturbs a budget fraction of the training set, all of them images of
 * the adversarial class c, within ||delta||_inf <= eps, labels kept; it wins when the network trained on the set
 * classifies the target test image(s), of another class, as c.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { type Dataset, numClasses, numSamples, sampleSize, subset } from '../../data/dataset.js';
import { check } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { imageShape, linfEps } from '../availability/common.js';
import { checkSurrogateFits } from '../perturbation-attack.js';
import type { AttackContext, Targets } from '../registry.js';

/** The parameters both targeted poisons take. */
export const targetedParams = {
  budget: z
    .number()
    .gt(0)
    .max(1)
    .default(0.01)
    .describe(
      'poisoned fraction of the training set, all images of the adversarial class (the papers: 0.01)',
    ),
  eps: linfEps(0.1, 'the papers: 8/255 or 16/255 on CIFAR-10; MNIST default 0.1, a third of the usual 0.3'),
  targetCount: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe('target test images per poison, all pushed to one adversarial class (the papers: 1)'),
  seed: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('chooses the adversarial class, the targets, the poisons, the starts'),
};

export interface TargetChoice {
  /** The adversarial class c. */
  adversarial: number;
  /** Indices into the test set of the target images (none of class c). */
  indices: number[];
}

/** The adversarial class and the target test images, a deterministic function of the test set and the seed. */
export function chooseTargets(test: Dataset, seed: number, count: number, what: string): TargetChoice {
  const k = numClasses(test);
  check(k >= 2, `${what}: ${test.name} has ${k} class, expected at least 2`);
  const rng = new Rng(seed * 2 + 1);
  const adversarial = rng.int(k);
  const eligible: number[] = [];
  for (let i = 0; i < numSamples(test); i++) if (test.y[i] !== adversarial) eligible.push(i);
  check(
    eligible.length >= count,
    `${what}: ${count} targets requested but ${test.name} has ${eligible.length} test images outside class ${adversarial}`,
  );
  const order = rng.permutation(eligible.length);
  const indices = Array.from({ length: count }, (_, j) => eligible[order[j]!]!);
  return { adversarial, indices };
}

/** `Attack.targets`: the chosen test images, each to be classified as the adversarial class. */
export function targetsOf(test: Dataset, seed: number, count: number, what: string): Targets {
  const c = chooseTargets(test, seed, count, what);
  return {
    images: subset(test, c.indices, `${test.name}[targets]`),
    intended: new Int32Array(count).fill(c.adversarial),
  };
}

/** The poisons: round(budget * n) (at least 1) training images of class `cls`, chosen by the seed, sorted. */
export function choosePoisons(
  data: Dataset,
  cls: number,
  budget: number,
  seed: number,
  what: string,
): number[] {
  const candidates: number[] = [];
  for (let i = 0; i < numSamples(data); i++) if (data.y[i] === cls) candidates.push(i);
  const count = Math.max(1, Math.round(budget * numSamples(data)));
  check(
    count <= candidates.length,
    `${what}: budget ${budget} asks for ${count} poisons but ${data.name} has ${candidates.length} images of the adversarial class ${cls}`,
  );
  const order = new Rng(seed * 2 + 2).permutation(candidates.length);
  return Array.from({ length: count }, (_, j) => candidates[order[j]!]!).sort((a, b) => a - b);
}

/** The rows `indices` of `x` (samples of `d` values each), one after another. */
export function rowsOf(x: Float32Array, indices: readonly number[], d: number): Float32Array {
  const out = new Float32Array(indices.length * d);
  for (let j = 0; j < indices.length; j++) out.set(x.subarray(indices[j]! * d, (indices[j]! + 1) * d), j * d);
  return out;
}

/** A start uniform in [-eps, eps] with x + delta in [0, 1] (`values` per restart from one seeded stream). */
export function randomStart(x: Float32Array, eps: number, rng: Rng): Float32Array {
  const d = new Float32Array(x.length);
  for (let j = 0; j < d.length; j++) {
    const v = (2 * rng.uniform() - 1) * eps;
    d[j] = Math.min(Math.max(x[j]! + v, 0), 1) - x[j]!;
  }
  return d;
}

/** Into the l_inf ball and the pixel range: clip(x + clip(delta, -eps, eps), 0, 1) - x. */
export function projectLinf(x: tf.Tensor, d: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.clipByValue(tf.add(x, tf.clipByValue(d, -eps, eps)), 0, 1), x));
}

/** What both targeted poisons start from, each checked once: the surrogate, the targets and the chosen poisons. */
export interface TargetedSetup {
  shape: readonly [number, number, number];
  model: tf.LayersModel;
  test: Dataset;
  adversarial: number;
  /** Target test images (indices into `test`) and the poisons (indices into the training set). */
  indices: number[];
  picked: number[];
  /** Floats per image, and the rows of the poisons and the targets. */
  d: number;
  xp: Float32Array;
  xt: Float32Array;
}

/** The common start of a targeted poison's `poison(data, ctx)`; errors name the attack (`what`). */
export function prepareTargeted(
  data: Dataset,
  ctx: AttackContext | undefined,
  p: { seed: number; targetCount: number; budget: number; eps: number; stepSize?: number | undefined },
  what: string,
): TargetedSetup {
  const shape = imageShape(data, what);
  const model = checkSurrogateFits(ctx?.surrogate, data, what);
  const test = needTest(ctx?.test, data, what);
  check(
    p.stepSize === undefined || p.stepSize <= p.eps,
    `${what}: stepSize ${p.stepSize} exceeds eps ${p.eps}, expected stepSize <= eps`,
  );
  const { adversarial, indices } = chooseTargets(test, p.seed, p.targetCount, what);
  const picked = choosePoisons(data, adversarial, p.budget, p.seed, what);
  const d = sampleSize(data);
  return {
    shape,
    model,
    test,
    adversarial,
    indices,
    picked,
    d,
    xp: rowsOf(data.x, picked, d),
    xt: rowsOf(test.x, indices, d),
  };
}

/** Check that the poison got the clean test set it picks its targets from. */
export function needTest(test: Dataset | undefined, data: Dataset, what: string): Dataset {
  check(
    test !== undefined,
    `${what}: a targeted attack needs the clean test set (ctx.test) to choose its targets`,
  );
  check(
    test.sampleShape.join('x') === data.sampleShape.join('x'),
    `${what}: test samples of shape [${test.sampleShape}] differ from training samples [${data.sampleShape}]`,
  );
  return test;
}
