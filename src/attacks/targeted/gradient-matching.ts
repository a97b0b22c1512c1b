/**
 * Gradient matching (Witches' Brew; Geiping, Fowl, Huang, Czaja, Taylor, Moeller & Goldstein, "Witches' Brew:
 * Industrial Scale Data Poisoning via Gradient Matching", ICLR 2021): a clean-label targeted poison. With g_t the
 * surrogate's parameter gradient of the adversarial loss of the targets, sum_t CE(f(x_t), c), the poisons (a budget
 * fraction of the training set, images of class c, labels kept) minimise, per batch of poisons,
 *     1 - cos(grad_theta mean_p CE(f(x_p + delta_p), y_p), g_t)
 * over ||delta_p||_inf <= eps, x + delta in [0, 1], by signed Adam steps (the sign of the gradient fed to Adam)
 * with the step decayed tenfold at 3/8, 5/8 and 5/6 of the steps, from R random starts, keeping the start of best
 * final alignment (the paper: R = 8, 240 steps, differentiable augmentation, which is not done here).
 *
 * The gradient of a cosine of parameter gradients is second-order autodiff. tfjs lacks it for three kernels of
 * the project's networks (Conv2DBackpropFilter, MaxPoolGrad, the project's PoisonlabReluGrad: registered by
 * backend/second-order.ts), and tfjs's Exp (also inside logSumExp's max, whose Equal has no gradient) loses the path
 * through its saved output at second order; so the losses here are written with an exp whose gradient recomputes
 * exp(x) from x (`linkedExp`). Works on wasm with the project's kernels and on cpu alike (test/attacks/targeted).
 *
 * MNIST defaults: eps 0.1 (as EM and TAP here), 4 restarts of 120 steps (half the paper's each: an MNIST slice's
 * surrogate aligns in fewer; docs/attacks.md), step 0.1 * eps, poisons in batches of 128.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { registerSecondOrderGradients } from '../../backend/second-order.js';
import { numClasses } from '../../data/dataset.js';
import { check } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { availabilityOutcome } from '../availability/common.js';
import { surrogateLogits } from '../objective.js';
import { type Attack, defineAttack } from '../registry.js';
import { prepareTargeted, projectLinf, randomStart, targetedParams, targetsOf } from './common.js';

const params = z
  .object({
    ...targetedParams,
    restarts: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe('random starts, the best final alignment kept (the paper: 8)'),
    steps: z.number().int().min(1).default(120).describe('signed Adam steps per start (the paper: 240)'),
    stepSize: z
      .number()
      .gt(0)
      .optional()
      .describe(
        'Adam step, pixels of [0, 1] (default 0.1 * eps), decayed tenfold at 3/8, 5/8, 5/6 of the steps',
      ),
    batchSize: z.number().int().min(1).default(128).describe('poisons per alignment batch'),
  })
  .strict();

/** exp whose gradient recomputes exp(x) from x, so that a second-order tape keeps the path (see the header). */
const linkedExp = tf.customGrad(((x: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
  save([x]); // a kept copy: `x` itself may be a tidy's intermediate, gone when the gradient runs
  return {
    value: tf.exp(x),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(dy as tf.Tensor, tf.exp(saved[0]!)),
  };
}) as never) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Mean softmax cross-entropy of `logits` [n, K] for class indices `y`, twice differentiable on tfjs's tape. */
export function twiceDifferentiableCE(logits: tf.Tensor, y: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[logits.shape.length - 1]!;
    // centring by the mean (not the max: Max's gradient has an Equal) keeps exp in range for finite logits
    const c = tf.sub(logits, tf.mean(logits, 1, true));
    const lse = tf.log(tf.sum(linkedExp(c), 1));
    return tf.mean(tf.sub(lse, tf.sum(tf.mul(c, tf.oneHot(y, k)), 1))) as tf.Scalar;
  });
}

/** The surrogate's parameter gradient of mean CE(f(x), y), as a list in `vars` order (differentiable in x). */
function parameterGradient(
  model: tf.LayersModel,
  vars: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor1D,
): tf.Tensor[] {
  const { grads } = tf.variableGrads(
    () => twiceDifferentiableCE(surrogateLogits(model, x, { mode: 'eval', input: 'raw' }), y),
    vars,
  );
  return vars.map((v) => grads[v.name]!);
}

/** 1 - cos(g, target) over the concatenation of the parameter gradients; `targetNorm` = ||target||. */
export function alignmentLoss(g: tf.Tensor[], target: tf.Tensor[], targetNorm: tf.Scalar): tf.Scalar {
  return tf.tidy(() => {
    let dot: tf.Tensor = tf.scalar(0);
    let sq: tf.Tensor = tf.scalar(0);
    g.forEach((gi, i) => {
      dot = tf.add(dot, tf.sum(tf.mul(gi, target[i]!)));
      sq = tf.add(sq, tf.sum(tf.square(gi)));
    });
    return tf.sub(1, tf.div(dot, tf.mul(tf.sqrt(tf.add(sq, 1e-20)), targetNorm))) as tf.Scalar;
  });
}

export const gradientMatching = defineAttack({
  name: 'gradient-matching',
  aliases: ['witches-brew', 'gm'],
  description:
    "clean-label targeted: poisons of the adversarial class whose training gradient aligns with the target's adversarial gradient (Witches' Brew, Geiping et al. 2021)",
  kind: 'targeted',
  needs: { surrogate: true, binary: false },
  params,
  create(p): Attack {
    return {
      name: 'gradient-matching',
      kind: 'targeted',
      params: p,
      targets: (test) => targetsOf(test, p.seed, p.targetCount, 'gradient-matching'),
      async poison(data, ctx) {
        const started = performance.now();
        const what = 'gradient-matching';
        const { shape, model, adversarial, indices, picked, d, xp, xt } = prepareTargeted(data, ctx, p, what);
        const k = numClasses(data);
        check(
          model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] === k,
          `${what}: the surrogate has one output logit, expected ${k} (the adversarial CE needs one per class)`,
        );
        registerSecondOrderGradients();
        const np = picked.length;
        const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const target = tf.tidy(() =>
          parameterGradient(
            model,
            vars,
            tf.tensor(xt, [indices.length, ...shape]),
            tf.tensor1d(new Int32Array(indices.length).fill(adversarial), 'int32'),
          ),
        );
        const targetNorm = tf.tidy(
          () => tf.sqrt(tf.addN(target.map((t) => tf.sum(tf.square(t))))) as tf.Scalar,
        );
        const step0 = p.stepSize ?? 0.1 * p.eps;
        const yAll = tf.tensor1d(
          Int32Array.from(picked, (i) => data.y[i]!),
          'int32',
        );
        const xAll = tf.tensor(xp, [np, ...shape]);
        const rng = new Rng(p.seed * 2 + 3);
        let best: Float32Array | undefined;
        let bestLoss = Number.POSITIVE_INFINITY;
        const total = p.restarts * p.steps;
        try {
          for (let r = 0; r < p.restarts; r++) {
            let delta = tf.tensor(randomStart(xp, p.eps, rng), [np, ...shape]);
            let m = tf.zerosLike(delta);
            let v = tf.zerosLike(delta);
            const lossOf = (dd: tf.Tensor): number => {
              let sum = 0;
              for (let s = 0; s < np; s += p.batchSize) {
                const size = Math.min(p.batchSize, np - s);
                const l = tf.tidy(() => {
                  const xb = tf.slice(xAll, s, size);
                  const g = parameterGradient(
                    model,
                    vars,
                    tf.add(xb, tf.slice(dd, s, size)),
                    tf.slice(yAll, s, size),
                  );
                  return alignmentLoss(g, target, targetNorm);
                });
                sum += l.dataSync()[0]! * size;
                l.dispose();
              }
              return sum / np;
            };
            for (let t = 1; t <= p.steps; t++) {
              const lr =
                step0 *
                (t > (5 * p.steps) / 6
                  ? 1e-3
                  : t > (5 * p.steps) / 8
                    ? 1e-2
                    : t > (3 * p.steps) / 8
                      ? 0.1
                      : 1);
              const parts: tf.Tensor[] = [];
              for (let s = 0; s < np; s += p.batchSize) {
                const size = Math.min(p.batchSize, np - s);
                parts.push(
                  tf.tidy(() => {
                    const xb = tf.slice(xAll, s, size);
                    const yb = tf.slice(yAll, s, size);
                    return tf.grad((db: tf.Tensor) =>
                      alignmentLoss(parameterGradient(model, vars, tf.add(xb, db), yb), target, targetNorm),
                    )(tf.slice(delta, s, size));
                  }),
                );
              }
              const next = tf.tidy(() => {
                const g = tf.sign(parts.length === 1 ? parts[0]! : tf.concat(parts, 0));
                const m1 = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1));
                const v1 = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
                const mh = tf.div(m1, 1 - 0.9 ** t);
                const vh = tf.div(v1, 1 - 0.999 ** t);
                const upd = tf.div(mh, tf.add(tf.sqrt(vh), 1e-8));
                return [m1, v1, projectLinf(xAll, tf.sub(delta, tf.mul(upd, lr)), p.eps)] as const;
              });
              for (const t0 of [...parts, m, v, delta]) t0.dispose();
              [m, v, delta] = next;
              ctx?.onProgress?.(r * p.steps + t, total);
            }
            const loss = lossOf(delta);
            if (loss < bestLoss) {
              bestLoss = loss;
              best = Float32Array.from(delta.dataSync() as Float32Array);
            }
            for (const t0 of [m, v, delta]) t0.dispose();
          }
        } finally {
          for (const t0 of [...target, targetNorm, yAll, xAll]) t0.dispose();
        }
        const x = Float32Array.from(data.x);
        picked.forEach((i, j) => {
          for (let q = 0; q < d; q++)
            x[i * d + q] = Math.min(Math.max(xp[j * d + q]! + best![j * d + q]!, 0), 1);
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
            restarts: p.restarts,
            steps: p.steps,
            stepSize: step0,
            alignment: 1 - bestLoss,
            seed: p.seed,
          },
          started,
        );
      },
    };
  },
});
