/**
 * The theory toy's regime-B attack (the paper's two-Gaussian toy): every training point is shifted by
 * exactly B towards the other class. Deterministic, no surrogate, labels unchanged.
 *
 * Direction, our reading of "towards the other class": the unit vector from the point's own class mean to the
 * other class's mean, both taken over the clean training set,
 *   delta_i = B * (mu_{1 - c_i} - mu_{c_i}) / ||mu_{1 - c_i} - mu_{c_i}||,   ||delta_i|| = B.
 * On the toy (centres (+-5, 0), points normalised to unit length) this is, up to sampling noise in the means,
 * x_i - y_i * B * (1, 0) with y_i in {-1, +1}. Points are not re-normalised or clipped afterwards.
 */

import { z } from 'zod';
import { type Dataset, numClasses, numSamples, sampleSize } from '../data/dataset.js';
import { check, checkNumber } from '../util/errors.js';
import { changedMask } from './changed-mask.js';
import { type Attack, defineAttack } from './registry.js';
import type { AttackReport, PoisonResult } from './types.js';

/** The per-class unit directions of the shift: dirs[c] points from class c's mean to the other class's mean. */
export function shiftDirections(data: Dataset): [Float64Array, Float64Array] {
  const n = numSamples(data);
  const d = sampleSize(data);
  const sums = [new Float64Array(d), new Float64Array(d)];
  const counts = [0, 0];
  for (let i = 0; i < n; i++) {
    const c = data.y[i]!;
    counts[c]!++;
    const s = sums[c]!;
    for (let j = 0; j < d; j++) s[j]! += data.x[i * d + j]!;
  }
  check(
    counts[0]! > 0 && counts[1]! > 0,
    `shift attack: ${data.name} needs samples of both classes (has ${counts[0]} and ${counts[1]})`,
  );
  const toOne = new Float64Array(d);
  let norm = 0;
  for (let j = 0; j < d; j++) {
    toOne[j] = sums[1]![j]! / counts[1]! - sums[0]![j]! / counts[0]!;
    norm += toOne[j]! ** 2;
  }
  norm = Math.sqrt(norm);
  check(norm > 0, `shift attack: the two class means of ${data.name} coincide, so there is no direction`);
  for (let j = 0; j < d; j++) toOne[j]! /= norm;
  return [toOne, toOne.map((v) => -v)];
}

/** Shift every sample of a binary dataset by exactly `budget` towards the other class's mean (see the file comment). */
export function shiftAttack(data: Dataset, budget: number): PoisonResult {
  const started = performance.now();
  checkNumber(budget, 'shift attack budget B', { min: 0 });
  check(
    numClasses(data) === 2,
    `shift attack: ${data.name} has ${numClasses(data)} classes, expected a binary task (classes 'a,b' or 'even-odd')`,
  );
  const n = numSamples(data);
  const d = sampleSize(data);
  const dirs = shiftDirections(data);
  const x = Float32Array.from(data.x);
  for (let i = 0; i < n; i++) {
    const dir = dirs[data.y[i]!]!;
    for (let j = 0; j < d; j++) x[i * d + j] = data.x[i * d + j]! + budget * dir[j]!;
  }
  const deltaNorm = new Float32Array(n).fill(budget);
  const report: AttackReport = {
    regime: 'B',
    params: { method: 'shift', B: budget },
    n,
    budget,
    deltaNormSum: budget * n,
    deltaNormMax: budget,
    samplesChanged: budget > 0 ? n : 0,
    labelsFlipped: 0,
    seconds: (performance.now() - started) / 1000,
  };
  return {
    dataset: { ...data, name: `${data.name}+shift${budget}`, x, y: Int32Array.from(data.y) },
    deltaNorm,
    report,
  };
}

export const shift = defineAttack({
  name: 'shift',
  aliases: ['B-shift', 'toy-shift'],
  description:
    "the theory toy's regime B: every point moves by exactly B towards the other class's mean (binary tasks; the paper's Gaussian toy)",
  kind: 'availability',
  needs: { surrogate: false, binary: true },
  params: z
    .object({
      budget: z.number().min(0).default(1).describe('B: the l2 length of every shift'),
      seed: z.number().int().min(0).default(0).describe('unused (the shift is deterministic); sweeps set it'),
    })
    .strict(),
  create(p): Attack {
    return {
      name: 'shift',
      kind: 'availability',
      params: p,
      async poison(data) {
        const r = shiftAttack(data, p.budget);
        return changedMask(data, { ...r, report: { ...r.report, attack: 'shift' } });
      },
    };
  },
});
