/**
 * Autoregressive perturbations (AR; Sandoval-Segura, Singla, Geiping, Goldblum, Goldstein & Jacobs,
 * "Autoregressive Perturbations for Data Poisoning", NeurIPS 2022): a model-free, clean-label availability poison.
 * Each class k (and each channel) has its own 2-D AR process on a `window` x `window` causal window: pixel (r, c)
 * with r, c >= window - 1 is the weighted sum of the window's other window^2 - 1 values (up and to the left of it);
 * the first window - 1 rows and columns are i.i.d. standard normal starts. The process runs on an (H + crop) x
 * (W + crop) grid and its first `crop` rows and columns are cut off (4, as we read the paper's generator), so
 * that the class-independent starts are not part of the noise. Every image of class k gets its own
 * draw of the starts, so its noise is new but follows the class's filter, which a linear filter separates (a
 * matching AR filter zeroes it, a filter of another class does not; whether a network learns that: docs/attacks.md). The perturbation is then scaled to the
 * budget: l2 norm eps (the paper's CIFAR-10 default, eps = 1 over 3,072 values) or l_inf norm eps, and x + delta
 * is clipped to [0, 1] (which can only shrink it).
 *
 * The coefficients: window^2 - 1 standard normal draws divided by their sum, so that they sum to 1 (our reading of
 * the paper's filters; not checked against its code),
 * redrawn (seeded) until the largest is at most MAX_COEF in size and a test run of the process on the image size
 * stays within STABLE_BOUND times its starts (as we read it, the paper too keeps only processes that do not blow up); after
 * MAX_TRIES failed draws the coefficients are divided by the sum of their magnitudes instead (always stable).
 */
import { z } from 'zod';
import { type Dataset, numClasses } from '../../data/dataset.js';
import { Rng } from '../../util/rng.js';
import { type Attack, defineAttack } from '../registry.js';
import { availabilityOutcome, clipUnit, imageShape } from './common.js';

const MAX_COEF = 3;
const STABLE_BOUND = 20;
const MAX_TRIES = 1000;

/** One AR filter: window^2 - 1 coefficients in row-major window order, the generated (last) pixel left out. */
export type ArFilter = Float64Array;

/** Run the AR process `coef` on an h x w grid from the starts drawn by `normal` (row-major, float64). */
export function runArProcess(
  coef: ArFilter,
  window: number,
  h: number,
  w: number,
  normal: () => number,
): Float64Array {
  const v = new Float64Array(h * w);
  const s = window - 1;
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) {
      if (r < s || c < s) {
        v[r * w + c] = normal();
        continue;
      }
      let acc = 0;
      let j = 0;
      for (let dr = -s; dr <= 0; dr++)
        for (let dc = -s; dc <= 0; dc++) {
          if (dr === 0 && dc === 0) continue;
          acc += coef[j++]! * v[(r + dr) * w + (c + dc)]!;
        }
      v[r * w + c] = acc;
    }
  return v;
}

/** A stable filter drawn from `rng` (see the file comment). */
export function drawArFilter(rng: Rng, window: number, h: number, w: number): ArFilter {
  const m = window * window - 1;
  const coef = new Float64Array(m);
  for (let t = 0; t < MAX_TRIES; t++) {
    let sum = 0;
    for (let j = 0; j < m; j++) {
      coef[j] = rng.normal();
      sum += coef[j]!;
    }
    if (Math.abs(sum) < 1e-6) continue;
    let big = 0;
    for (let j = 0; j < m; j++) {
      coef[j]! /= sum;
      big = Math.max(big, Math.abs(coef[j]!));
    }
    if (big > MAX_COEF) continue;
    const probe = new Rng(rng.nextUint32());
    const v = runArProcess(coef, window, h, w, () => probe.normal());
    let peak = 0;
    let startPeak = 0;
    for (let q = 0; q < v.length; q++) {
      const a = Math.abs(v[q]!);
      peak = Math.max(peak, a);
      if (Math.floor(q / w) < window - 1 || q % w < window - 1) startPeak = Math.max(startPeak, a);
    }
    if (Number.isFinite(peak) && peak <= STABLE_BOUND * startPeak) return coef;
  }
  let abs = 0;
  for (let j = 0; j < m; j++) abs += Math.abs(coef[j]!);
  for (let j = 0; j < m; j++) coef[j]! /= abs;
  return coef;
}

/** The class-wise filters: filters[k][ch]. */
export function arFilters(
  seed: number,
  k: number,
  channels: number,
  window: number,
  h: number,
  w: number,
): ArFilter[][] {
  const rng = new Rng(seed ^ 0x0a12);
  return Array.from({ length: k }, () =>
    Array.from({ length: channels }, () => drawArFilter(rng, window, h, w)),
  );
}

const params = z
  .object({
    eps: z
      .number()
      .gt(0)
      .default(1)
      .describe('radius of delta in `norm`, pixels of [0, 1] (the paper: l2 eps = 1 on CIFAR-10)'),
    norm: z.enum(['l2', 'linf']).default('l2').describe('the norm delta is scaled to'),
    window: z.number().int().min(2).max(5).default(3).describe('side of the AR window (the paper: 3)'),
    crop: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(4)
      .describe('rows and columns generated before the image and cut off (4, our reading of the paper)'),
    seed: z.number().int().min(0).default(0).describe("seed of the filters and of every image's starts"),
  })
  .strict();

/** The AR noise of every sample of `data`, before scaling, channels interleaved (NHWC). */
function arNoise(data: Dataset, p: { window: number; crop: number; seed: number }): Float32Array {
  const [h, w, c] = imageShape(data, 'autoregressive');
  const H = h + p.crop;
  const W = w + p.crop;
  const filters = arFilters(p.seed, numClasses(data), c, p.window, H, W);
  const starts = new Rng((p.seed ^ 0x5eed) >>> 0);
  const d = h * w * c;
  const noise = new Float32Array(data.y.length * d);
  for (let i = 0; i < data.y.length; i++)
    for (let ch = 0; ch < c; ch++) {
      const v = runArProcess(filters[data.y[i]!]![ch]!, p.window, H, W, () => starts.normal());
      for (let r = 0; r < h; r++)
        for (let q = 0; q < w; q++) noise[i * d + (r * w + q) * c + ch] = v[(r + p.crop) * W + q + p.crop]!;
    }
  return noise;
}

export const autoregressive = defineAttack({
  name: 'autoregressive',
  aliases: ['ar'],
  description:
    "model-free: per-class AR filters generate each image's noise, scaled to l2 or l_inf eps; labels kept (Sandoval-Segura et al. 2022)",
  kind: 'availability',
  needs: { surrogate: false, binary: false },
  params,
  create(p): Attack {
    return {
      name: 'autoregressive',
      kind: 'availability',
      params: p,
      async poison(data) {
        const started = performance.now();
        const [h, w, c] = imageShape(data, 'autoregressive');
        const d = h * w * c;
        const noise = arNoise(data, p);
        const x = Float32Array.from(data.x);
        // scaled a hair inside the ball so that storing x + delta in float32 keeps the norm within eps
        const radius = p.eps * (1 - 1e-5);
        for (let i = 0; i < data.y.length; i++) {
          let size = 0;
          for (let j = i * d; j < (i + 1) * d; j++)
            size = p.norm === 'l2' ? size + noise[j]! ** 2 : Math.max(size, Math.abs(noise[j]!));
          if (p.norm === 'l2') size = Math.sqrt(size);
          const scale = size > 0 ? radius / size : 0;
          for (let j = i * d; j < (i + 1) * d; j++) x[j] = x[j]! + scale * noise[j]!;
        }
        clipUnit(x);
        return availabilityOutcome(
          'autoregressive',
          data,
          x,
          p.eps,
          { eps: p.eps, norm: p.norm, window: p.window, crop: p.crop, seed: p.seed },
          started,
        );
      },
    };
  },
});
