/**
 * Adversarial poisoning (TAP; Fowl, Goldblum, Chiang, Geiping, Czaja & Goldstein, "Adversarial Examples Make
 * Strong Poisons", NeurIPS 2021), the class-targeted variant: every training image is turned into a targeted
 * adversarial example of the frozen surrogate, pushed towards class (y + shift) mod K, and keeps its label y.
 * A network trained on the set learns the non-robust features of the wrong classes. PGD from delta = 0: `steps`
 * projected sign-gradient steps of size `stepSize` that lower CE(f(x + delta), target) within ||delta||_inf <= eps
 * and the pixel range, minibatch by minibatch (the surrogate in inference mode, on raw pixels).
 *
 * The paper: eps = 8/255 on CIFAR-10, 250 steps. MNIST default eps 0.1 (see error-minimizing.ts: MNIST's
 * surrogates need a larger l_inf step before their targeted loss moves; docs/attacks.md has the measurement).
 * Deterministic: no random start.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numClasses, numSamples } from '../../data/dataset.js';
import { check } from '../../util/errors.js';
import { evaluateSurrogate } from '../objective.js';
import { checkSurrogateFits } from '../perturbation-attack.js';
import { type Attack, defineAttack } from '../registry.js';
import { availabilityOutcome, imageShape, linfEps } from './common.js';
import { accuracyOn, descendLoss } from './linf-pgd.js';

const params = z
  .object({
    eps: linfEps(0.1, 'the paper: 8/255 on CIFAR-10; MNIST default 0.1'),
    steps: z.number().int().min(1).default(250).describe('PGD steps per image (the paper: 250)'),
    stepSize: z
      .number()
      .gt(0)
      .optional()
      .describe('l_inf size of each PGD step, pixels of [0, 1] (default eps / 10)'),
    shift: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('target class (y + shift) mod K of an image of class y'),
    batchSize: z.number().int().min(1).default(256).describe('images per PGD batch'),
  })
  .strict();

export const adversarialPoisoning = defineAttack({
  name: 'adversarial-poisoning',
  aliases: ['tap'],
  description:
    'each image a class-targeted l_inf PGD example of the surrogate towards (y + 1) mod K, label kept (Fowl et al. 2021)',
  kind: 'availability',
  needs: { surrogate: true, binary: false },
  params,
  create(p): Attack {
    return {
      name: 'adversarial-poisoning',
      kind: 'availability',
      params: p,
      async poison(data, ctx) {
        const started = performance.now();
        const shape = imageShape(data, 'adversarial-poisoning');
        const model = checkSurrogateFits(ctx?.surrogate, data, 'adversarial-poisoning');
        const k = numClasses(data);
        check(k >= 2, `adversarial-poisoning: ${data.name} has ${k} class, expected at least 2`);
        check(
          p.shift % k !== 0,
          `adversarial-poisoning: shift ${p.shift} maps every class of ${k} to itself, expected shift mod ${k} != 0`,
        );
        check(
          p.stepSize === undefined || p.stepSize <= p.eps,
          `adversarial-poisoning: stepSize ${p.stepSize} exceeds eps ${p.eps}, expected stepSize <= eps`,
        );
        check(
          model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] === k,
          `adversarial-poisoning: the surrogate has one output logit, expected ${k} (targeted CE needs one per class)`,
        );
        const step = p.stepSize ?? p.eps / 10;
        const n = numSamples(data);
        const x = tf.tensor(data.x, [n, ...shape], 'float32');
        const y = tf.tensor1d(data.y, 'int32');
        const target = tf.tensor1d(
          Int32Array.from(data.y, (c) => (c + p.shift) % k),
          'int32',
        );
        try {
          const before = evaluateSurrogate(model, x, y);
          const parts: tf.Tensor[] = [];
          for (let s = 0; s < n; s += p.batchSize) {
            const size = Math.min(p.batchSize, n - s);
            const xb = tf.slice(x, s, size);
            const tb = tf.slice(target, s, size);
            const zero = tf.zerosLike(xb);
            const db = descendLoss(model, xb, zero, tb, p.steps, step, p.eps);
            parts.push(tf.tidy(() => tf.clipByValue(tf.add(xb, db), 0, 1)));
            for (const t of [xb, tb, zero, db]) t.dispose();
            ctx?.onProgress?.(s + size, n);
          }
          const poisoned = tf.concat(parts, 0);
          for (const t of parts) t.dispose();
          const after = evaluateSurrogate(model, poisoned, y);
          const toTarget = accuracyOn(model, poisoned, target).accuracy;
          const px = Float32Array.from(poisoned.dataSync() as Float32Array);
          poisoned.dispose();
          return availabilityOutcome(
            'adversarial-poisoning',
            data,
            px,
            p.eps,
            {
              eps: p.eps,
              steps: p.steps,
              stepSize: step,
              shift: p.shift,
              batchSize: p.batchSize,
              surrogateToTarget: toTarget,
            },
            started,
            { surrogateBefore: before, surrogateAfter: after },
          );
        } finally {
          x.dispose();
          y.dispose();
          target.dispose();
        }
      },
    };
  },
});
