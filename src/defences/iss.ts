/**
 * Image shortcut squeezing (ISS; Liu, Zhao & Larson, "Image Shortcut Squeezing: Countering Perturbative
 * Availability Poisons with Compression", ICML 2023): a data-independent training-set transform that squeezes out
 * the perturbation an availability poison relies on, then the network trains on the squeezed images.
 * - 'jpeg' (ISS-J): a JPEG round trip of every training image at `quality` (the paper: 10), against l_inf poisons
 *   (EM, TAP, ...), whose high-frequency noise JPEG's quantisation removes;
 * - 'grayscale' (ISS-G): every pixel's channels replaced by its luma 0.299 R + 0.587 G + 0.114 B (shape kept),
 *   against low-frequency colour poisons (OPS, ...); a no-op on one-channel images such as MNIST.
 * The paper compresses the training set only (test images are clean), so there is no test-time transform. It
 * removes nothing: precision and recall are null; `transformed` counts the images that changed.
 */
import sharp from 'sharp';
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { check } from '../util/errors.js';
import { defineDefence } from './registry.js';

/** A JPEG round trip (encode at `quality`, decode) of every image of `data`, pixels back in [0, 1]. */
export async function jpegSqueeze(data: Dataset, quality: number): Promise<Dataset> {
  const [h, w, c] = imageShapeOf(data);
  const n = data.y.length;
  const d = h * w * c;
  const x = new Float32Array(data.x.length);
  const bytes = Buffer.alloc(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) bytes[j] = Math.round(Math.min(1, Math.max(0, data.x[i * d + j]!)) * 255);
    const jpeg = await sharp(bytes, { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } })
      .jpeg({ quality, chromaSubsampling: '4:2:0' })
      .toBuffer();
    const { data: raw, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    check(
      info.width === w && info.height === h,
      `iss: JPEG round trip of ${data.name} sample ${i} gave ${info.width}x${info.height}, expected ${w}x${h}`,
    );
    // a one-channel image may come back as three identical channels: keep the first `c`
    for (let p = 0; p < h * w; p++)
      for (let ch = 0; ch < c; ch++)
        x[i * d + p * c + ch] = raw[p * info.channels + Math.min(ch, info.channels - 1)]! / 255;
  }
  return { ...data, name: `${data.name}+jpeg${quality}`, x, y: Int32Array.from(data.y) };
}

/** Every pixel's channels replaced by its luma (ITU-R BT.601 weights); one-channel images are returned as they are. */
export function grayscaleSqueeze(data: Dataset): Dataset {
  const [h, w, c] = imageShapeOf(data);
  if (c === 1)
    return { ...data, name: `${data.name}+gray`, x: Float32Array.from(data.x), y: Int32Array.from(data.y) };
  check(c === 3, `iss grayscale: ${data.name} has ${c} channels, expected 1 or 3`);
  const x = new Float32Array(data.x.length);
  for (let p = 0; p < data.y.length * h * w; p++) {
    const v = 0.299 * data.x[p * 3]! + 0.587 * data.x[p * 3 + 1]! + 0.114 * data.x[p * 3 + 2]!;
    x[p * 3] = x[p * 3 + 1] = x[p * 3 + 2] = v;
  }
  return { ...data, name: `${data.name}+gray`, x, y: Int32Array.from(data.y) };
}

function imageShapeOf(data: Dataset): [number, number, number] {
  const s = data.sampleShape;
  check(
    s.length === 3 && [1, 3].includes(s[2]!),
    `iss: ${data.name} has samples of shape [${s}], expected images [H, W, C] with 1 or 3 channels`,
  );
  return s as [number, number, number];
}

/** How many samples differ between two sets of the same shape. */
function changedSamples(a: Dataset, b: Dataset): number {
  const n = a.y.length;
  const d = n > 0 ? a.x.length / n : 0;
  let changed = 0;
  for (let i = 0; i < n; i++)
    for (let j = i * d; j < (i + 1) * d; j++)
      if (a.x[j] !== b.x[j]) {
        changed++;
        break;
      }
  return changed;
}

export const imageShortcutSqueezing = defineDefence({
  name: 'iss',
  aliases: ['image-shortcut-squeezing', 'jpeg'],
  description:
    'squeeze the training images: JPEG round trip at quality q or grayscale; nothing removed (Liu et al. 2023, ISS)',
  needs: { features: false },
  params: z
    .object({
      method: z
        .enum(['jpeg', 'grayscale'])
        .default('jpeg')
        .describe("'jpeg' (ISS-J, against l_inf noise) or 'grayscale' (ISS-G, against colour shortcuts)"),
      quality: z.number().int().min(1).max(100).default(10).describe('JPEG quality (the paper: 10)'),
    })
    .strict(),
  create(p) {
    return {
      name: 'iss',
      params: p,
      needs: { features: false },
      async apply(input) {
        const started = performance.now();
        const squeezed =
          p.method === 'jpeg' ? await jpegSqueeze(input.data, p.quality) : grayscaleSqueeze(input.data);
        return {
          dataset: squeezed,
          report: {
            defence: 'iss',
            params: { ...p },
            n: input.data.y.length,
            removed: [],
            precision: null,
            recall: null,
            transformed: changedSamples(input.data, squeezed),
            seconds: (performance.now() - started) / 1000,
          },
        };
      },
    };
  },
});
