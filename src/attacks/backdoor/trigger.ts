/**
 * What the backdoor attacks share: choosing which samples to poison, stamping a patch, blending a pattern, and
 * the test-time trigger that the attack-success rate is measured with.
 */
import { z } from 'zod';
import { type Dataset, numClasses, numSamples, sampleSize } from '../../data/dataset.js';
import { check } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import type { AttackOutcome, Trigger } from '../registry.js';

/** The parameters every backdoor has: the target class, the poison rate and the seed of the sample choice. */
export const backdoorParams = {
  target: z.number().int().min(0).default(0).describe('target class index the trigger should cause'),
  rate: z
    .number()
    .gt(0)
    .max(1)
    .default(0.1)
    .describe('poison rate: poisoned samples as a fraction of the training set'),
  seed: z.number().int().min(0).default(0).describe('seed of which samples are poisoned'),
};

/** Where the patch sits. */
export const patchParams = {
  patchSize: z.number().int().min(1).default(3).describe('side of the square patch (pixels)'),
  margin: z.number().int().min(0).default(1).describe('distance of the patch from the image border (pixels)'),
  corner: z
    .enum(['bottom-right', 'bottom-left', 'top-right', 'top-left'])
    .default('bottom-right')
    .describe('image corner the patch sits in'),
  value: z.number().min(0).max(1).default(1).describe('pixel value of the patch (raw [0, 1] pixels)'),
};

export interface PatchOptions {
  patchSize: number;
  margin: number;
  corner: 'bottom-right' | 'bottom-left' | 'top-right' | 'top-left';
  value: number;
}

/** Check that the data are images [H, W, C] that hold the patch, and that `target` is a class of them. */
export function checkImages(data: Dataset, what: string, patch?: PatchOptions): [number, number, number] {
  const s = data.sampleShape;
  check(s.length === 3, `${what}: ${data.name} has samples of shape [${s}], expected images [H, W, C]`);
  const [h, w, c] = s as [number, number, number];
  if (patch)
    check(
      patch.patchSize + patch.margin <= Math.min(h, w),
      `${what}: patch ${patch.patchSize} + margin ${patch.margin} does not fit in ${h}x${w} images`,
    );
  return [h, w, c];
}

export function checkTarget(data: Dataset, target: number, what: string): void {
  check(
    target < numClasses(data),
    `${what}: target class ${target} is outside the ${numClasses(data)} classes of ${data.name}`,
  );
}

/** The (row, column) of the patch's top-left pixel. */
export function patchOrigin(h: number, w: number, p: PatchOptions): [number, number] {
  const top = p.corner.startsWith('top') ? p.margin : h - p.margin - p.patchSize;
  const left = p.corner.endsWith('left') ? p.margin : w - p.margin - p.patchSize;
  return [top, left];
}

/** Set the patch's pixels (every channel) of sample `i` of `x` (in place). */
export function stampPatch(
  x: Float32Array,
  i: number,
  shape: [number, number, number],
  p: PatchOptions,
): void {
  const [h, w, c] = shape;
  const [top, left] = patchOrigin(h, w, p);
  const base = i * h * w * c;
  for (let r = top; r < top + p.patchSize; r++)
    for (let q = left; q < left + p.patchSize; q++)
      for (let k = 0; k < c; k++) x[base + (r * w + q) * c + k] = p.value;
}

/** x_i <- (1 - alpha) x_i + alpha * pattern for sample `i` (in place). */
export function blendSample(x: Float32Array, i: number, pattern: Float32Array, alpha: number): void {
  const d = pattern.length;
  for (let j = 0; j < d; j++) x[i * d + j] = (1 - alpha) * x[i * d + j]! + alpha * pattern[j]!;
}

/** `count` distinct indices drawn from `candidates` (seeded), in increasing order. */
export function chooseSamples(candidates: readonly number[], count: number, seed: number): number[] {
  check(
    count <= candidates.length,
    `backdoor: ${count} poisoned samples requested but only ${candidates.length} are eligible`,
  );
  const order = new Rng(seed).permutation(candidates.length);
  const picked: number[] = [];
  for (let j = 0; j < count; j++) picked.push(candidates[order[j]!]!);
  return picked.sort((a, b) => a - b);
}

/** How many samples a poison rate means for n samples (at least one). */
export function poisonCount(rate: number, n: number): number {
  return Math.max(1, Math.round(rate * n));
}

/** The indices of samples whose label is (or is not) `target`. */
export function indicesWhere(data: Dataset, pred: (label: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < numSamples(data); i++) if (pred(data.y[i]!)) out.push(i);
  return out;
}

/** A trigger that applies `stamp(x, i)` to every sample of a copy of the data. */
export function makeTrigger(
  target: number,
  stamp: (x: Float32Array, i: number, data: Dataset) => void,
): Trigger {
  return {
    target,
    apply(data: Dataset): Dataset {
      const x = Float32Array.from(data.x);
      for (let i = 0; i < numSamples(data); i++) stamp(x, i, data);
      return { ...data, name: `${data.name}+trigger`, x, y: Int32Array.from(data.y) };
    },
  };
}

/** Build the outcome of a backdoor from the clean data, the poisoned x and y and the poisoned indices. */
export function backdoorOutcome(
  name: string,
  clean: Dataset,
  x: Float32Array,
  y: Int32Array,
  poisoned: readonly number[],
  params: Record<string, number | string | boolean>,
  started: number,
): AttackOutcome {
  const n = numSamples(clean);
  const d = sampleSize(clean);
  const deltaNorm = new Float32Array(n);
  const mask = new Uint8Array(n);
  let sum = 0;
  let max = 0;
  let flipped = 0;
  for (const i of poisoned) {
    mask[i] = 1;
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += (x[j]! - clean.x[j]!) ** 2;
    deltaNorm[i] = Math.sqrt(s);
    sum += deltaNorm[i]!;
    max = Math.max(max, deltaNorm[i]!);
    if (y[i] !== clean.y[i]) flipped++;
  }
  return {
    dataset: { ...clean, name: `${clean.name}+${name}`, x, y },
    deltaNorm,
    poisonMask: mask,
    report: {
      attack: name,
      params,
      n,
      budget: poisoned.length / n,
      deltaNormSum: sum,
      deltaNormMax: max,
      samplesChanged: poisoned.length,
      labelsFlipped: flipped,
      seconds: (performance.now() - started) / 1000,
    },
  };
}
