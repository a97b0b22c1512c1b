/**
 * Regime C: label flipping. Each label is flipped independently with probability beta (seeded):
 * y -> (y + 1) mod K. For a binary task (K = 2, class 0 = label -1, class 1 = label +1) this is
 * the theory's y -> -y. Inputs are unchanged.
 */
import { z } from 'zod';
import { type Dataset, numClasses, numSamples } from '../data/dataset.js';
import { check } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { changedMask } from './changed-mask.js';
import { type Attack, defineAttack } from './registry.js';
import type { PoisonResult } from './types.js';

/** Flip each label of `data` with probability `beta`: one uniform draw per sample, in order, so the flips depend only on (seed, n). */
export function flipLabels(data: Dataset, beta: number, seed: number): PoisonResult {
  const started = performance.now();
  const k = numClasses(data);
  check(k >= 2, `label flip: ${data.name} has ${k} class(es), need at least 2`);
  const n = numSamples(data);
  const rng = new Rng(seed);
  const y = Int32Array.from(data.y);
  let flipped = 0;
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < beta) {
      y[i] = (y[i]! + 1) % k;
      flipped++;
    }
  }
  return {
    dataset: {
      name: `${data.name}+C`,
      x: Float32Array.from(data.x),
      y,
      sampleShape: data.sampleShape,
      classNames: data.classNames,
    },
    deltaNorm: new Float32Array(n),
    report: {
      regime: 'C',
      params: { beta, seed, numClasses: k },
      n,
      budget: beta,
      deltaNormSum: 0,
      deltaNormMax: 0,
      samplesChanged: flipped,
      labelsFlipped: flipped,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

export const labelFlip = defineAttack({
  name: 'label-flip',
  aliases: ['C', 'flip'],
  paperRegime: 'C',
  description:
    'regime C: each label flips y -> (y + 1) mod K with probability beta (Wang, Mianjy & Arora 2021)',
  kind: 'availability',
  needs: { surrogate: false, binary: false },
  params: z
    .object({
      beta: z.number().min(0).max(1).default(0.2).describe('flip probability per sample'),
      seed: z.number().int().min(0).default(0).describe('seed of the flips (sweeps: the repetition seed)'),
    })
    .strict(),
  create(p): Attack {
    return {
      name: 'label-flip',
      kind: 'availability',
      params: p,
      async poison(data) {
        const r = flipLabels(data, p.beta, p.seed);
        return changedMask(data, { ...r, report: { ...r.report, attack: 'label-flip' } });
      },
    };
  },
});
