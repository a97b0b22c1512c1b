/**
 * STRIP (Gao, Xu, Wang, Chen, Ranasinghe & Nepal, "STRIP: A Defence Against Trojan Attacks on Deep Neural
 * Networks", ACSAC 2019): a test-time detector of trojaned inputs. Each input is superimposed on `overlays` clean
 * images (`blend: 'sum'`, the default: x + x' clipped to [0, 1], the authors' released code's addWeighted with
 * weights 1 and 1; `'mean'`: 0.5 each, as TrojanZoo) and the trained network's mean prediction entropy over the blends is taken:
 * a trigger keeps forcing its target class whatever it is blended with, so a trojaned input has a low entropy, a
 * clean one a high entropy. An input is flagged when its entropy is below the threshold, the `frr` quantile of the
 * entropies of the defender's clean inputs (the paper: the false-rejection rate the defender accepts, there 1 %,
 * from a small held-out clean set, which also supplies the images to blend with). Here the held-out set is the
 * first `calibration` images of the clean test set; the rates are measured on the rest of it, so no image both
 * sets the threshold and is scored. (Training images would not do: a backdoor's poisons are among them, and their
 * low entropies pull the threshold down: measured, docs/attacks.md.)
 *
 * It changes nothing before training: the evaluation calls `inspectTrained` with the trained network, the clean
 * test set and the attack's trigger, and stores `stripDetectionRate` (scored triggered test images not of the
 * target class that are flagged), `stripFalsePositiveRate` (scored clean test images flagged) and `stripThreshold`.
 * The paper uses N = 100 overlays; the default here is 20 (a fifth of the cost; the entropy is a mean over them).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { type Dataset, numSamples, sampleSize, subset } from '../data/dataset.js';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { defineDefence, inspectionDefence } from './registry.js';

const params = z
  .object({
    blend: z
      .enum(['sum', 'mean'])
      .default('sum')
      .describe("superimposition: 'sum' x + x' clipped to [0, 1] (the authors' code) or 'mean' (x + x') / 2"),
    overlays: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('clean images each input is blended with (the paper: 100)'),
    frr: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.01)
      .describe('false-rejection rate that sets the entropy threshold, a fraction (the paper: 0.01)'),
    calibration: z
      .number()
      .int()
      .min(10)
      .default(200)
      .describe(
        "the defender's held-out clean images (the first of the test set): the threshold and the blends",
      ),
    seed: z.number().int().min(0).default(0).describe('chooses the blend partners'),
  })
  .strict();

/**
 * Mean over `overlays` superimpositions of each input of `inputs` on images of `pool` (`blend`) of the prediction's
 * entropy in bits; the blends' partners are drawn from `pool` by `rng`.
 */
export function stripEntropies(
  model: tf.LayersModel,
  inputs: Dataset,
  pool: Dataset,
  overlays: number,
  rng: Rng,
  blend: 'sum' | 'mean' = 'sum',
): Float64Array {
  const n = numSamples(inputs);
  const m = numSamples(pool);
  const d = sampleSize(inputs);
  check(m > 0, 'strip: no images to blend with');
  const out = new Float64Array(n);
  const per = Math.max(1, Math.floor(512 / overlays));
  for (let s = 0; s < n; s += per) {
    const size = Math.min(per, n - s);
    const blended = new Float32Array(size * overlays * d);
    for (let i = 0; i < size; i++)
      for (let o = 0; o < overlays; o++) {
        const partner = rng.int(m);
        const row = (i * overlays + o) * d;
        for (let q = 0; q < d; q++) {
          const v = inputs.x[(s + i) * d + q]! + pool.x[partner * d + q]!;
          blended[row + q] = blend === 'sum' ? Math.min(v, 1) : 0.5 * v;
        }
      }
    const h = tf.tidy(() => {
      const logits = model.predict(tf.tensor(blended, [size * overlays, ...inputs.sampleShape])) as tf.Tensor;
      const logp = tf.logSoftmax(logits);
      const ent = tf.div(tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)), Math.LN2);
      return tf.mean(tf.reshape(ent, [size, overlays]), 1);
    });
    out.set(h.dataSync() as Float32Array, s);
    h.dispose();
  }
  return out;
}

/** The q quantile of `values` (the lower of the two neighbours; values unsorted). */
function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))]!;
}

export const strip = defineDefence({
  name: 'strip',
  aliases: ['strip-detector'],
  description:
    'test-time: flags inputs whose predictions stay confident when blended with clean images (low entropy; Gao et al. 2019)',
  needs: { features: false },
  params,
  create(p) {
    return inspectionDefence('strip', p, (model, clean, trigger) => {
      const m = numSamples(clean);
      check(
        m > p.calibration,
        `strip: ${m} clean test images, expected more than calibration ${p.calibration} (the rest is scored)`,
      );
      const rng = new Rng(p.seed);
      const held = subset(
        clean,
        Array.from({ length: p.calibration }, (_, i) => i),
        'strip held-out',
      );
      const rest: number[] = [];
      for (let i = p.calibration; i < m; i++) rest.push(i);
      const scored = subset(clean, rest, `${clean.name} (scored)`);
      const threshold = quantile(stripEntropies(model, held, held, p.overlays, rng, p.blend), p.frr);
      const flagged = (e: Float64Array) =>
        e.length > 0 ? e.filter((v) => v < threshold).length / e.length : null;
      const out: Record<string, number | null> = {
        stripThreshold: threshold,
        stripFalsePositiveRate: flagged(stripEntropies(model, scored, held, p.overlays, rng, p.blend)),
      };
      if (trigger) {
        const keep: number[] = [];
        for (let i = 0; i < numSamples(scored); i++) if (scored.y[i] !== trigger.target) keep.push(i);
        const triggered = trigger.apply(subset(scored, keep, `${scored.name} (not ${trigger.target})`));
        out['stripDetectionRate'] = flagged(stripEntropies(model, triggered, held, p.overlays, rng, p.blend));
      }
      return out;
    });
  },
});
