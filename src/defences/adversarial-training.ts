/**
 * Adversarial training (Madry, Makelov, Schmidt, Tsipras & Vladu, ICLR 2018) as a training-time defence against
 * availability poisons (APBench's AT; Tao et al. 2021 show it bounds what an l_inf poison of radius eps can do when
 * the training radius matches it): every minibatch is replaced, before its SGD step, by the l_inf PGD points that
 * RAISE the network's loss, `steps` sign-gradient steps of `stepSize` within ||delta||_inf <= eps and [0, 1]
 * (the network in inference mode). PGD starts at delta = 0 (no random start, so that a run is deterministic and
 * resumes with the same numbers). The training set is not changed; the sweep hands `perturbTrainingBatch` to the
 * run's training (TrainOptions.perturbBatch). Cost: steps + 1 forward-backward passes per SGD step.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { perSampleLoss } from '../train/losses.js';
import type { BatchPerturbation } from '../train/types.js';
import { check } from '../util/errors.js';
import { defineDefence } from './registry.js';

/** The PGD perturbation of a minibatch (a new tensor): maximise the summed CE loss within the l_inf ball. */
export function pgdBatch(eps: number, steps: number, stepSize: number): BatchPerturbation {
  return (model, xb, yb) =>
    tf.tidy(() => {
      const loss = (d: tf.Tensor) =>
        tf.sum(
          perSampleLoss(model.apply(tf.add(xb, d), { training: false }) as tf.Tensor, yb, 'crossentropy')
            .loss,
        );
      let delta: tf.Tensor = tf.zerosLike(xb);
      for (let s = 0; s < steps; s++) {
        const g = tf.grad(loss)(delta);
        const next = tf.clipByValue(tf.add(delta, tf.mul(tf.sign(g), stepSize)), -eps, eps);
        delta = tf.sub(tf.clipByValue(tf.add(xb, next), 0, 1), xb);
      }
      return tf.add(xb, delta);
    });
}

export const adversarialTraining = defineDefence({
  name: 'adversarial-training',
  aliases: ['at', 'pgd-training'],
  description:
    "training-time: each minibatch replaced by its l_inf PGD points (eps matched to the poison's); nothing removed (Madry et al. 2018)",
  needs: { features: false },
  params: z
    .object({
      eps: z
        .number()
        .gt(0)
        .max(1)
        .default(0.1)
        .describe('l_inf radius, pixels of [0, 1] (match the poison: EM/TAP MNIST default 0.1)'),
      steps: z.number().int().min(1).default(10).describe('PGD steps per minibatch'),
      stepSize: z
        .number()
        .gt(0)
        .optional()
        .describe('l_inf size of each PGD step (default 2.5 eps / steps, as Madry et al.)'),
    })
    .strict(),
  create(p) {
    const stepSize = p.stepSize ?? (2.5 * p.eps) / p.steps;
    return {
      name: 'adversarial-training',
      params: p,
      needs: { features: false },
      async apply(input) {
        const s = input.data.sampleShape;
        check(
          s.length === 3,
          `adversarial-training: ${input.data.name} has samples of shape [${s}], expected images [H, W, C]`,
        );
        return {
          dataset: input.data,
          perturbTrainingBatch: pgdBatch(p.eps, p.steps, stepSize),
          report: {
            defence: 'adversarial-training',
            params: { ...p, stepSize },
            n: input.data.y.length,
            removed: [],
            precision: null,
            recall: null,
            transformed: 0,
            seconds: 0,
          },
        };
      },
    };
  },
});
