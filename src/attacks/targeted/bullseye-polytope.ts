/**
 * Bullseye Polytope (Aghakhani, Meng, Wang, Kruegel & Vigna, "Bullseye Polytope: A Scalable Clean-Label Poisoning
 * Attack with Improved Transferability", EuroS&P 2021): a clean-label targeted poison in feature space. The poisons
 * (a budget fraction of the training set, images of the adversarial class c, labels kept) are moved so that the
 * mean of their penultimate features, phi being the surrogate's feature hook (models/spec.ts `features`, as the
 * feature defences read it), sits on the target's features, the "bullseye" of their polytope:
 *     min over ||delta_j||_inf <= eps of  || phi(x_t) - (1/k) sum_j phi(x_j + delta_j) ||^2 / || phi(x_t) ||^2
 * by Adam steps on delta, each followed by the projection onto the eps box and the pixel range. With several
 * targets the poisons are dealt round-robin into one group per target. A network trained on the set then puts the
 * target's features inside a region labelled c. (Convex Polytope, Zhu et al. 2019, optimises the coefficients; BP
 * fixes them to 1/k, as here.)
 *
 * MNIST defaults: eps 0.1 (as the other l_inf poisons here), 300 Adam steps of 0.1 * eps from the clean images;
 * the iteration count and step are ours, for an MNIST slice, not the paper's CIFAR-10 schedule.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { withRawInput } from '../../models/normalize.js';
import { featureOutput } from '../../models/registry.js';
import { Rng } from '../../util/rng.js';
import { availabilityOutcome } from '../availability/common.js';
import { type Attack, defineAttack } from '../registry.js';
import { prepareTargeted, projectLinf, randomStart, targetedParams, targetsOf } from './common.js';

const params = z
  .object({
    ...targetedParams,
    steps: z.number().int().min(1).default(300).describe('Adam steps on the poisons'),
    stepSize: z
      .number()
      .gt(0)
      .optional()
      .describe('Adam learning rate, pixels of [0, 1] (default 0.1 * eps)'),
    randomStart: z
      .boolean()
      .default(false)
      .describe('start from a uniform point of the eps box instead of the clean images (the paper: clean)'),
  })
  .strict();

export const bullseyePolytope = defineAttack({
  name: 'bullseye-polytope',
  aliases: ['bp', 'bullseye'],
  description:
    "clean-label targeted: poisons of the adversarial class whose mean penultimate feature sits on the target's (Aghakhani et al. 2021)",
  kind: 'targeted',
  needs: { surrogate: true, binary: false },
  params,
  create(p): Attack {
    return {
      name: 'bullseye-polytope',
      kind: 'targeted',
      params: p,
      targets: (test) => targetsOf(test, p.seed, p.targetCount, 'bullseye-polytope'),
      async poison(data, ctx) {
        const started = performance.now();
        const what = 'bullseye-polytope';
        const { shape, model, adversarial, indices, picked, d, xp, xt } = prepareTargeted(data, ctx, p, what);
        const np = picked.length;
        const nt = indices.length;
        // poison j belongs to target j mod nt; `avg` [nt, np] averages each group's features
        const avgValues = new Float32Array(nt * np);
        const groupSize = new Array<number>(nt).fill(0);
        for (let j = 0; j < np; j++) groupSize[j % nt]!++;
        for (let j = 0; j < np; j++) avgValues[(j % nt) * np + j] = 1 / groupSize[j % nt]!;
        const probe = tf.model({ inputs: model.inputs, outputs: featureOutput(model) });
        const features = (x: tf.Tensor): tf.Tensor2D =>
          withRawInput(model, () => {
            const h = probe.apply(x, { training: false }) as tf.Tensor;
            return h.reshape([h.shape[0]!, -1]) as tf.Tensor2D;
          });
        const xAll = tf.tensor(xp, [np, ...shape]);
        const avg = tf.tensor2d(avgValues, [nt, np]);
        const phiT = tf.tidy(() => features(tf.tensor(xt, [nt, ...shape])));
        const usedTargets = groupSize.filter((g) => g > 0).length;
        const weight = tf.tensor1d(groupSize.map((g) => (g > 0 ? 1 : 0)));
        const phiTNorm = tf.tidy(() => tf.add(tf.sum(tf.square(phiT), 1), 1e-12));
        const objective = (delta: tf.Tensor): tf.Scalar =>
          tf.tidy(() => {
            const mean = tf.matMul(avg, features(tf.add(xAll, delta)));
            const rel = tf.div(tf.sum(tf.square(tf.sub(phiT, mean)), 1), phiTNorm);
            return tf.div(tf.sum(tf.mul(rel, weight)), usedTargets) as tf.Scalar;
          });
        const lr = p.stepSize ?? 0.1 * p.eps;
        const start = p.randomStart
          ? randomStart(xp, p.eps, new Rng(p.seed * 2 + 3))
          : new Float32Array(np * d);
        let delta = tf.tensor(start, [np, ...shape]);
        let m = tf.zerosLike(delta);
        let v = tf.zerosLike(delta);
        let before = 0;
        let after = 0;
        try {
          const b = objective(delta);
          before = b.dataSync()[0]!;
          b.dispose();
          for (let t = 1; t <= p.steps; t++) {
            const next = tf.tidy(() => {
              const g = tf.grad((dd: tf.Tensor) => objective(dd))(delta);
              const m1 = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1));
              const v1 = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
              const upd = tf.div(tf.div(m1, 1 - 0.9 ** t), tf.add(tf.sqrt(tf.div(v1, 1 - 0.999 ** t)), 1e-8));
              return [m1, v1, projectLinf(xAll, tf.sub(delta, tf.mul(upd, lr)), p.eps)] as const;
            });
            for (const t0 of [m, v, delta]) t0.dispose();
            [m, v, delta] = next;
            ctx?.onProgress?.(t, p.steps);
          }
          const a = objective(delta);
          after = a.dataSync()[0]!;
          a.dispose();
          const best = delta.dataSync() as Float32Array;
          const x = Float32Array.from(data.x);
          picked.forEach((i, j) => {
            for (let q = 0; q < d; q++)
              x[i * d + q] = Math.min(Math.max(xp[j * d + q]! + best[j * d + q]!, 0), 1);
          });
          return availabilityOutcome(
            what,
            data,
            x,
            p.eps,
            {
              eps: p.eps,
              budget: p.budget,
              poisons: np,
              adversarialClass: adversarial,
              targetCount: p.targetCount,
              steps: p.steps,
              stepSize: lr,
              featureDistanceBefore: before,
              featureDistanceAfter: after,
              seed: p.seed,
            },
            started,
          );
        } finally {
          for (const t0 of [m, v, delta, xAll, avg, phiT, weight, phiTNorm]) t0.dispose();
        }
      },
    };
  },
});
