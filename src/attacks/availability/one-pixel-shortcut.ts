/**
 * The one-pixel shortcut (OPS; Wu, Chen, Xie & Huang, "One-Pixel Shortcut: on the Learning Preference of Deep
 * Neural Networks", ICLR 2023): a model-free, clean-label availability poison. For each class k it picks one pixel
 * position tau_k and one colour sigma_k (a corner of the colour cube: 0 or 1 in every channel) that deviate from
 * the class's own pixels there "mostly and stably": with G_i = mean over channels of |x_i[tau] - sigma| for the
 * images i of class k, the pair maximising mean_i(G_i) / var_i(G_i); then it sets that pixel to sigma_k in every
 * image of class k. A network trained on the set learns the pixel instead of the digit.
 *
 * One deviation from the paper, for data with a constant background (MNIST): there the ratio is maximal (zero
 * variance) at the same border pixel for every class, and a pixel shared by all classes is no shortcut. So with
 * `distinctPositions` (the default) the classes choose in class order among the positions no earlier class took.
 * Ties keep the first position in row-major order and the first colour (deterministic: OPS has no randomness).
 * Budget: one pixel (all its channels) per image, l_inf up to 1.
 */
import { z } from 'zod';
import { type Dataset, numClasses } from '../../data/dataset.js';
import { type Attack, defineAttack } from '../registry.js';
import { availabilityOutcome, imageShape, samplesByClass } from './common.js';

/** The pixel and colour chosen for one class, and its score mean(G) / var(G). */
export interface ShortcutPixel {
  row: number;
  col: number;
  colour: number[];
  mean: number;
  variance: number;
}

/** Below this the variance counts as 0 (the score is then mean / VAR_FLOOR). */
const VAR_FLOOR = 1e-12;

/** OPS's search: per class, the (position, colour) maximising mean(G) / var(G) (see the file comment). */
export function searchShortcutPixels(data: Dataset, distinctPositions = true): ShortcutPixel[] {
  const [h, w, c] = imageShape(data, 'one-pixel-shortcut');
  const k = numClasses(data);
  const groups = samplesByClass(data, k);
  const taken = new Uint8Array(h * w);
  const colours = Array.from({ length: 2 ** c }, (_, v) =>
    Array.from({ length: c }, (_, ch) => (v >> ch) & 1),
  );
  const d = h * w * c;
  const out: ShortcutPixel[] = [];
  for (let cls = 0; cls < k; cls++) {
    const idx = groups[cls]!;
    let best: ShortcutPixel | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < h * w; p++) {
      if (distinctPositions && taken[p]) continue;
      for (const colour of colours) {
        let s = 0;
        let s2 = 0;
        for (const i of idx) {
          let g = 0;
          for (let ch = 0; ch < c; ch++) g += Math.abs(data.x[i * d + p * c + ch]! - colour[ch]!);
          g /= c;
          s += g;
          s2 += g * g;
        }
        const m = idx.length > 0 ? s / idx.length : 0;
        const variance = idx.length > 0 ? Math.max(0, s2 / idx.length - m * m) : 0;
        const score = m / Math.max(variance, VAR_FLOOR);
        if (score > bestScore) {
          bestScore = score;
          best = { row: Math.floor(p / w), col: p % w, colour, mean: m, variance };
        }
      }
    }
    // a class with no samples still gets a pixel (nothing is stamped with it)
    const chosen = best ?? { row: 0, col: 0, colour: colours[0]!, mean: 0, variance: 0 };
    taken[chosen.row * w + chosen.col] = 1;
    out.push(chosen);
  }
  return out;
}

const params = z
  .object({
    distinctPositions: z
      .boolean()
      .default(true)
      .describe('each class takes a pixel position no earlier class took (needed on constant backgrounds)'),
  })
  .strict();

export const onePixelShortcut = defineAttack({
  name: 'one-pixel-shortcut',
  aliases: ['ops'],
  description:
    'model-free: per class one pixel set to its most separable colour in every image; labels kept (Wu et al. 2023)',
  kind: 'availability',
  needs: { surrogate: false, binary: false },
  params,
  create(p): Attack {
    return {
      name: 'one-pixel-shortcut',
      kind: 'availability',
      params: p,
      async poison(data) {
        const started = performance.now();
        const [h, w, c] = imageShape(data, 'one-pixel-shortcut');
        const pixels = searchShortcutPixels(data, p.distinctPositions);
        const x = Float32Array.from(data.x);
        const d = h * w * c;
        for (let i = 0; i < data.y.length; i++) {
          const px = pixels[data.y[i]!]!;
          const at = i * d + (px.row * w + px.col) * c;
          for (let ch = 0; ch < c; ch++) x[at + ch] = px.colour[ch]!;
        }
        return availabilityOutcome(
          'one-pixel-shortcut',
          data,
          x,
          1,
          {
            distinctPositions: p.distinctPositions,
            pixels: pixels.map((q) => `${q.row},${q.col}:${q.colour.join('')}`).join(' '),
          },
          started,
        );
      },
    };
  },
});
