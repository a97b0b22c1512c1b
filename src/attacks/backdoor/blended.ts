/**
 * Blended (Chen, Liu, Li, Lu & Song 2017, "Targeted Backdoor Attacks on Deep Learning Systems Using Data
 * Poisoning"): a fraction `rate` of the training set, drawn among samples not of the target class, becomes
 * (1 - alpha) x + alpha t for a fixed uniform-noise pattern t (seeded by `patternSeed`) and gets the label
 * `target`. Test images are blended with the same pattern.
 */
import { z } from 'zod';
import { type Dataset, numSamples, sampleSize } from '../../data/dataset.js';
import { Rng } from '../../util/rng.js';
import { type Attack, defineAttack } from '../registry.js';
import {
  backdoorOutcome,
  backdoorParams,
  blendSample,
  checkTarget,
  chooseSamples,
  indicesWhere,
  makeTrigger,
  poisonCount,
} from './trigger.js';

const params = z
  .object({
    ...backdoorParams,
    alpha: z
      .number()
      .gt(0)
      .max(1)
      .default(0.2)
      .describe('blend ratio of the pattern (0: invisible, 1: pattern only)'),
    patternSeed: z.number().int().min(0).default(1234).describe('seed of the uniform-noise pattern'),
  })
  .strict();

/** The blend pattern: uniform noise in [0, 1] of one sample's size, fixed by `seed`. */
export function noisePattern(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const t = new Float32Array(size);
  for (let j = 0; j < size; j++) t[j] = rng.uniform();
  return t;
}

export const blended = defineAttack({
  name: 'blended',
  aliases: ['blend'],
  description: 'blend a noise pattern into images + relabel to the target class (Chen et al. 2017)',
  kind: 'backdoor',
  needs: { surrogate: false, binary: false },
  params,
  create(p): Attack {
    const patternFor = (data: Dataset) => noisePattern(sampleSize(data), p.patternSeed);
    return {
      name: 'blended',
      kind: 'backdoor',
      params: p,
      trigger: {
        target: p.target,
        // One pattern per call, not per sample.
        apply: (data) => {
          const t = patternFor(data);
          return makeTrigger(p.target, (x, i) => blendSample(x, i, t, p.alpha)).apply(data);
        },
      },
      async poison(data) {
        const started = performance.now();
        checkTarget(data, p.target, 'blended');
        const t = patternFor(data);
        const others = indicesWhere(data, (c) => c !== p.target);
        const picked = chooseSamples(others, poisonCount(p.rate, numSamples(data)), p.seed);
        const x = Float32Array.from(data.x);
        const y = Int32Array.from(data.y);
        for (const i of picked) {
          blendSample(x, i, t, p.alpha);
          y[i] = p.target;
        }
        return backdoorOutcome('blended', data, x, y, picked, { ...p }, started);
      },
    };
  },
});
