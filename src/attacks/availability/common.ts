/**
 * What the availability poisons of issue 21 share (OPS, AR, error-minimising noise, adversarial poisoning): the
 * image check, the l_inf budget in pixel units of [0, 1], and the outcome of a clean-label poison (labels kept,
 * x + delta clipped to [0, 1], per-sample l2 and l_inf norms of what changed).
 */
import { z } from 'zod';
import { type Dataset, numSamples, sampleSize } from '../../data/dataset.js';
import { check } from '../../util/errors.js';
import type { AttackOutcome } from '../registry.js';

/** The l_inf budget of the optimised poisons (EM, TAP): pixels of [0, 1]; 8/255 is the papers' CIFAR value. */
export const linfEps = (fallback: number, note: string) =>
  z.number().gt(0).max(1).default(fallback).describe(`l_inf radius eps of delta, pixels of [0, 1] (${note})`);

/** Check that the data are images [H, W, C]; returns the shape. */
export function imageShape(data: Dataset, what: string): [number, number, number] {
  const s = data.sampleShape;
  check(s.length === 3, `${what}: ${data.name} has samples of shape [${s}], expected images [H, W, C]`);
  check(numSamples(data) > 0, `${what}: ${data.name} holds no samples`);
  return s as [number, number, number];
}

/** The indices of the samples of each class (class k: out[k]). */
export function samplesByClass(data: Dataset, k: number): number[][] {
  const out: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < numSamples(data); i++) out[data.y[i]!]!.push(i);
  return out;
}

/** Per-sample l2 and l_inf norms of poisoned - clean. */
export function perturbationNorms(
  clean: Float32Array,
  poisoned: Float32Array,
  d: number,
): { l2: Float32Array; linf: Float32Array } {
  const n = clean.length / d;
  const l2 = new Float32Array(n);
  const linf = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let m = 0;
    for (let j = i * d; j < (i + 1) * d; j++) {
      const e = poisoned[j]! - clean[j]!;
      s += e * e;
      const a = Math.abs(e);
      if (a > m) m = a;
    }
    l2[i] = Math.sqrt(s);
    linf[i] = m;
  }
  return { l2, linf };
}

/** Clip every value of `x` to [0, 1] in place; returns x. */
export function clipUnit(x: Float32Array): Float32Array {
  for (let j = 0; j < x.length; j++) {
    const v = x[j]!;
    x[j] = Math.min(Math.max(v, 0), 1);
  }
  return x;
}

/**
 * The outcome of a clean-label availability poison: `x` the poisoned inputs (already in [0, 1]), labels those of
 * the clean set; the mask marks the samples whose input changed; `budget` is the attack's own radius.
 */
export function availabilityOutcome(
  name: string,
  clean: Dataset,
  x: Float32Array,
  budget: number,
  params: Record<string, number | string | boolean>,
  started: number,
  extra: Pick<AttackOutcome['report'], 'surrogateBefore' | 'surrogateAfter'> = {},
): AttackOutcome {
  const n = numSamples(clean);
  const { l2, linf } = perturbationNorms(clean.x, x, sampleSize(clean));
  const mask = new Uint8Array(n);
  let sum = 0;
  let max = 0;
  let maxInf = 0;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    if (linf[i]! > 0) {
      mask[i] = 1;
      changed++;
    }
    sum += l2[i]!;
    max = Math.max(max, l2[i]!);
    maxInf = Math.max(maxInf, linf[i]!);
  }
  return {
    dataset: { ...clean, name: `${clean.name}+${name}`, x, y: Int32Array.from(clean.y) },
    deltaNorm: l2,
    poisonMask: mask,
    report: {
      attack: name,
      params,
      n,
      budget,
      deltaNormSum: sum,
      deltaNormMax: max,
      deltaLinfMax: maxInf,
      samplesChanged: changed,
      labelsFlipped: 0,
      ...extra,
      seconds: (performance.now() - started) / 1000,
    },
  };
}
