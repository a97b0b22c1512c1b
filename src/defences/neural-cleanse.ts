/**
 * Neural Cleanse (Wang, Yao, Shan, Li, Viswanath, Zheng & Zhao, "Neural Cleanse: Identifying and Mitigating
 * Backdoor Attacks in Neural Networks", IEEE S&P 2019), its detection part: for every class k, reverse-engineer the
 * smallest trigger that sends clean images to k, x' = (1 - m) * x + m * p with a mask m in [0, 1]^(H x W) and a
 * pattern p in [0, 1]^(H x W x C) (both through a sigmoid of free parameters), minimising
 *     CE(f(x'), k) + lambda * |m|_1
 * by Adam steps on minibatches of the defender's clean images. A backdoored class needs a much smaller mask than the
 * others: with the masks' l1 norms L_k, the anomaly index of a class below the median is
 * (median(L) - L_k) / (1.4826 * MAD(L)) and the model is flagged when the smallest-norm class has an index > 2.
 * The paper adjusts lambda on the fly to keep the attack-success rate of the reversed trigger >= 99 %; here lambda
 * is fixed (`lambda`), one of the paper's starting values' order for MNIST-sized masks; the reversed triggers'
 * success is reported so that a too-large lambda is visible.
 *
 * A post-training inspection like STRIP: nothing changes before training; the evaluation calls `inspectTrained`
 * and stores `ncAnomalyIndex` (of the smallest-norm class), `ncFlaggedClass` (that class, or null when its index
 * is <= 2), `ncTargetFound` (1 when the flagged class is the backdoor's target; backdoors only), `ncMinMaskL1`,
 * `ncMedianMaskL1` and `ncReversedSuccess` (mean over classes of the reversed triggers' success on the images).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numClasses, numSamples, sampleSize } from '../data/dataset.js';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { defineDefence, inspectionDefence } from './registry.js';

const params = z
  .object({
    steps: z.number().int().min(1).default(200).describe('Adam steps per class'),
    lambda: z
      .number()
      .min(0)
      .default(0.01)
      .describe('weight of the mask l1 norm (the paper adapts it; fixed here)'),
    lr: z.number().gt(0).default(0.1).describe('Adam learning rate on the mask and pattern parameters'),
    images: z
      .number()
      .int()
      .min(1)
      .default(200)
      .describe("the defender's clean images: the first ones of the clean test set"),
    batchSize: z.number().int().min(1).default(64).describe('images per Adam step'),
    seed: z.number().int().min(0).default(0).describe('minibatch order and the parameters start'),
  })
  .strict();

/** The anomaly index of every value: (median - v) / (1.4826 MAD), positive for values below the median. */
export function anomalyIndices(values: readonly number[]): number[] {
  const med = median(values);
  const mad = 1.4826 * median(values.map((v) => Math.abs(v - med)));
  return values.map((v) => (mad > 0 ? (med - v) / mad : 0));
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Reverse-engineer the smallest trigger to class `k`: its mask's l1 norm and its success on `x`. */
export function reverseTrigger(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  k: number,
  p: { steps: number; lambda: number; lr: number; batchSize: number },
  rng: Rng,
): { maskL1: number; success: number } {
  const [n, h, w, c] = x.shape;
  const init = (size: number) => Float32Array.from({ length: size }, () => 0.1 * rng.normal());
  const mParam = tf.variable(tf.tensor(init(h * w), [1, h, w, 1]));
  const pParam = tf.variable(tf.tensor(init(h * w * c), [1, h, w, c]));
  const optimizer = tf.train.adam(p.lr);
  const stamp = (xb: tf.Tensor) => {
    const m = tf.sigmoid(mParam);
    return tf.add(tf.mul(tf.sub(1, m), xb), tf.mul(m, tf.sigmoid(pParam)));
  };
  try {
    for (let s = 0; s < p.steps; s++) {
      const size = Math.min(p.batchSize, n);
      const idx = tf.tensor1d(
        Int32Array.from({ length: size }, () => rng.int(n)),
        'int32',
      );
      tf.tidy(() => {
        const xb = tf.gather(x, idx);
        const yb = tf.oneHot(tf.fill([size], k, 'int32') as tf.Tensor1D, model.outputs[0]!.shape[1]!);
        optimizer.minimize(
          () => {
            const logits = model.apply(stamp(xb), { training: false }) as tf.Tensor;
            const ce = tf.losses.softmaxCrossEntropy(yb, logits);
            return tf.add(ce, tf.mul(p.lambda, tf.sum(tf.sigmoid(mParam)))) as tf.Scalar;
          },
          false,
          [mParam, pParam],
        );
      });
      idx.dispose();
    }
    return tf.tidy(() => {
      const maskL1 = tf.sum(tf.sigmoid(mParam)).dataSync()[0]!;
      const pred = tf.argMax(model.apply(stamp(x), { training: false }) as tf.Tensor, 1);
      const success = tf.mean(tf.cast(tf.equal(pred, k), 'float32')).dataSync()[0]!;
      return { maskL1, success };
    });
  } finally {
    optimizer.dispose();
    mParam.dispose();
    pParam.dispose();
  }
}

export const neuralCleanse = defineDefence({
  name: 'neural-cleanse',
  aliases: ['nc'],
  description:
    'post-training: reverse-engineers the smallest trigger of every class, flags a class whose mask is an outlier (MAD anomaly index > 2; Wang et al. 2019)',
  needs: { features: false },
  params,
  create(p) {
    return inspectionDefence('neural-cleanse', p, (model, clean, trigger) => {
      const s = clean.sampleShape;
      check(s.length === 3, `neural-cleanse: samples of shape [${s}], expected images [H, W, C]`);
      const n = Math.min(p.images, numSamples(clean));
      check(n > 0, 'neural-cleanse: no clean images to reverse triggers on');
      const k = numClasses(clean);
      const x = tf.tensor4d(clean.x.subarray(0, n * sampleSize(clean)), [n, s[0]!, s[1]!, s[2]!]);
      const rng = new Rng(p.seed);
      const norms: number[] = [];
      let success = 0;
      try {
        for (let c = 0; c < k; c++) {
          const r = reverseTrigger(model, x, c, p, rng);
          norms.push(r.maskL1);
          success += r.success / k;
        }
      } finally {
        x.dispose();
      }
      const index = anomalyIndices(norms);
      const min = norms.indexOf(Math.min(...norms));
      const flagged = index[min]! > 2 ? min : null;
      return {
        ncAnomalyIndex: index[min]!,
        ncFlaggedClass: flagged,
        ...(trigger && { ncTargetFound: flagged === trigger.target ? 1 : 0 }),
        ncMinMaskL1: norms[min]!,
        ncMedianMaskL1: median(norms),
        ncReversedSuccess: success,
      };
    });
  },
});
