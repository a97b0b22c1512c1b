/**
 * The named metrics of a trained network beyond its loss and accuracy: per-class clean test accuracy and, for a
 * backdoor, the attack-success rate and the robust accuracy on triggered inputs (BackdoorBench's ASR and RA).
 */
import type * as tf from '@tensorflow/tfjs';
import { type Dataset, numClasses, numSamples, subset } from '../data/dataset.js';
import { predictLogits } from './evaluate.js';

/** A backdoor's test-time trigger, as evaluation needs it: stamp it on every sample; the class it should cause. */
export interface TestTrigger {
  readonly target: number;
  apply(data: Dataset): Dataset;
}

/**
 * A targeted attack's targets, as evaluation needs them: the chosen (test) images, each with the class the attack
 * wants it to be classified as. Their metrics are `targetSuccessRate`, the fraction classified so, and
 * `targetMargin`, its continuous version (see targetMargin); over repetitions (other targets) the report gives
 * their mean and spread.
 */
export interface TestTargets {
  images: Dataset;
  intended: Int32Array;
}

/** Predicted class per row of logits (one logit: > 0 is class 1). */
export function predictedClasses(logits: Float32Array, n: number): Int32Array {
  const k = logits.length / Math.max(1, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (k === 1) out[i] = logits[i]! > 0 ? 1 : 0;
    else {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[i * k + c]! > logits[i * k + best]!) best = c;
      out[i] = best;
    }
  }
  return out;
}

/**
 * The adversarial margin of targets, averaged over them: z_c - max_{j != c} z_j for the logits z of a target and its
 * intended class c, i.e. log p_c - log max_{j != c} p_j under the softmax (natural log). Positive exactly when the
 * target is classified as intended; unlike the success rate it also measures how far a failed attack moved the
 * target (the loss Witches' Brew's victim-side evaluation and Carlini-Wagner use). One logit (binary): the logit
 * signed towards the intended class.
 */
export function targetMargin(logits: Float32Array, intended: Int32Array): number | null {
  const m = intended.length;
  if (m === 0) return null;
  const k = logits.length / m;
  let sum = 0;
  for (let i = 0; i < m; i++) {
    const c = intended[i]!;
    if (k === 1) {
      sum += c === 1 ? logits[i]! : -logits[i]!;
      continue;
    }
    let other = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) if (j !== c) other = Math.max(other, logits[i * k + j]!);
    sum += logits[i * k + c]! - other;
  }
  return sum / m;
}

/** `targetSuccessRate`, `targetMargin` and `targetCount` of a network on a targeted attack's targets. */
export function targetMetrics(
  model: tf.LayersModel,
  targets: TestTargets,
  transform: (d: Dataset) => Dataset = (d) => d,
): Record<string, number | null> {
  const m = numSamples(targets.images);
  const logits = predictLogits(model, transform(targets.images));
  const tp = predictedClasses(logits, m);
  let hit = 0;
  tp.forEach((c, j) => {
    if (c === targets.intended[j]) hit++;
  });
  return {
    targetSuccessRate: m > 0 ? hit / m : null,
    targetMargin: targetMargin(logits, targets.intended),
    targetCount: m,
  };
}

/**
 * Per-class clean test accuracy (`classAccuracy.<c>`) and, with a trigger, over the test images NOT of the target
 * class with the trigger stamped: `attackSuccessRate`, the fraction classified as the target, and
 * `robustAccuracy`, the fraction still classified as their true class. With a targeted attack's `targets`:
 * targetMetrics. `transform` is an input-transforming
 * defence's preprocessing: it sees every input the model sees, so it runs after the trigger is stamped.
 */
export function namedMetrics(
  model: tf.LayersModel,
  rawTest: Dataset,
  trigger: TestTrigger | undefined,
  transform: (d: Dataset) => Dataset = (d) => d,
  targets?: TestTargets,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const test = transform(rawTest);
  const n = numSamples(test);
  const pred = predictedClasses(predictLogits(model, test), n);
  const k = numClasses(test);
  const hits = new Float64Array(k);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    counts[test.y[i]!]!++;
    if (pred[i] === test.y[i]) hits[test.y[i]!]!++;
  }
  for (let c = 0; c < k; c++) out[`classAccuracy.${c}`] = counts[c]! > 0 ? hits[c]! / counts[c]! : null;
  if (trigger) {
    const keep: number[] = [];
    for (let i = 0; i < n; i++) if (test.y[i] !== trigger.target) keep.push(i);
    const kept = subset(rawTest, keep, `${rawTest.name} (not ${trigger.target})`);
    const tp = predictedClasses(predictLogits(model, transform(trigger.apply(kept))), keep.length);
    let toTarget = 0;
    let toTrue = 0;
    tp.forEach((c, j) => {
      if (c === trigger.target) toTarget++;
      if (c === kept.y[j]) toTrue++;
    });
    out['attackSuccessRate'] = keep.length > 0 ? toTarget / keep.length : null;
    out['robustAccuracy'] = keep.length > 0 ? toTrue / keep.length : null;
  }
  if (targets) Object.assign(out, targetMetrics(model, targets, transform));
  return out;
}
