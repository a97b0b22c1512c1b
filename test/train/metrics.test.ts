/** The named metrics of evaluation: per-class accuracy, and a backdoor's attack-success rate and robust accuracy. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../src/data/dataset.js';
import { namedMetrics, predictedClasses, targetMargin } from '../../src/train/metrics.js';

await tf.setBackend('cpu');

/** A network whose logits are its input: it predicts the largest coordinate. */
const identity = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [3], units: 3, useBias: false, kernelInitializer: 'identity' })],
});

/** Samples whose largest coordinate is `pred[i]`, labelled `y[i]`. */
function samples(pred: number[], y: number[]): Dataset {
  const x = new Float32Array(pred.length * 3);
  pred.forEach((p, i) => {
    x[i * 3 + p] = 1;
  });
  return { name: 't', x, y: Int32Array.from(y), sampleShape: [3], classNames: ['a', 'b', 'c'] };
}

test('per-class accuracy, and ASR / robust accuracy over the triggered non-target images', () => {
  const data = samples([0, 1, 2, 2, 0, 1], [0, 1, 2, 1, 2, 1]);
  // a trigger that sends every image to class 2 (the target): ASR 1, RA 0 on the non-target images
  const toTarget = { target: 2, apply: (d: Dataset) => samples(Array(d.y.length).fill(2), [...d.y]) };
  const m = namedMetrics(identity, data, toTarget);
  assert.deepEqual([m['classAccuracy.0'], m['classAccuracy.1'], m['classAccuracy.2']], [1, 2 / 3, 0.5]);
  assert.equal(m['attackSuccessRate'], 1);
  assert.equal(m['robustAccuracy'], 0);
  // a trigger that changes nothing: ASR is how often non-target images already go to the target, RA their accuracy
  const inert = { target: 2, apply: (d: Dataset) => d };
  const n = namedMetrics(identity, data, inert);
  // non-target images: labels [0, 1, 1, 1] predicted [0, 1, 2, 1] -> ASR 1/4, RA 3/4
  assert.equal(n['attackSuccessRate'], 0.25);
  assert.equal(n['robustAccuracy'], 0.75);
  assert.equal(
    namedMetrics(identity, data, undefined)['robustAccuracy'],
    undefined,
    'no trigger, no backdoor metrics',
  );
});

test('predicted classes: argmax of K logits, or logit > 0 for one', () => {
  assert.deepEqual([...predictedClasses(Float32Array.of(0.1, 0.9, 0.5, 0.2, 0.1, 0.7), 2)], [1, 2]);
  assert.deepEqual([...predictedClasses(Float32Array.of(-1, 2, 0), 3)], [0, 1, 0]);
});

test("a targeted attack's targets: the fraction classified as intended, through the input transform", () => {
  const data = samples([0, 1], [0, 1]);
  const images = samples([2, 1, 0, 2], [0, 1, 0, 1]);
  const m = namedMetrics(identity, data, undefined, undefined, {
    images,
    intended: Int32Array.from([2, 2, 1, 2]),
  });
  assert.equal(m['targetSuccessRate'], 0.5);
  assert.equal(m['targetCount'], 4);
  assert.equal(m['attackSuccessRate'], undefined);
  // a transform that maps every input to class 1
  const toOne = (d: Dataset) => samples(Array(d.y.length).fill(1), [...d.y]);
  const t = namedMetrics(identity, data, undefined, toOne, {
    images,
    intended: Int32Array.from([1, 1, 0, 2]),
  });
  assert.equal(t['targetSuccessRate'], 0.5);
  assert.equal(namedMetrics(identity, data, undefined)['targetSuccessRate'], undefined);
});

test("the targets' margin: log p_adv - log max_(j != adv) p_j, averaged; positive exactly on success", () => {
  // logits [1, 3, 2] towards class 2: 2 - 3 = -1; [0, 0, 5] towards 2: 5 - 0 = 5; mean 2
  assert.equal(targetMargin(Float32Array.of(1, 3, 2, 0, 0, 5), Int32Array.of(2, 2)), 2);
  // it is the log-ratio of the softmax probabilities
  const z = [0.3, -1.2, 2.5];
  const p = z.map((v) => Math.exp(v) / z.reduce((a, b) => a + Math.exp(b), 0));
  assert.ok(Math.abs(targetMargin(Float32Array.from(z), Int32Array.of(1))! - Math.log(p[1]! / p[2]!)) < 1e-6);
  // one logit: signed towards the intended class
  assert.equal(targetMargin(Float32Array.of(1.5, 1.5), Int32Array.of(1, 0)), 0);
  assert.equal(targetMargin(new Float32Array(0), new Int32Array(0)), null);
  // through the network, with the success rate
  const images = samples([2, 1], [0, 0]);
  const m = namedMetrics(identity, samples([0], [0]), undefined, undefined, {
    images,
    intended: Int32Array.of(2, 2),
  });
  // inputs are one-hot: the hit has margin 1 - 0, the miss 0 - 1
  assert.equal(m['targetSuccessRate'], 0.5);
  assert.equal(m['targetMargin'], 0);
});
