/**
 * BadNets (Gu, Dolan-Gavitt & Garg 2017, "BadNets: Identifying Vulnerabilities in the Machine Learning Model
 * Supply Chain"): a fraction `rate` of the training set, drawn (seeded) among samples not of the target class,
 * gets a square patch in a corner and the label `target`. Test images get the same patch.
 */
import { z } from 'zod';
import type { Dataset } from '../../data/dataset.js';
import { numSamples } from '../../data/dataset.js';
import { type Attack, defineAttack } from '../registry.js';
import {
  backdoorOutcome,
  backdoorParams,
  checkImages,
  checkTarget,
  chooseSamples,
  indicesWhere,
  makeTrigger,
  patchParams,
  poisonCount,
  stampPatch,
} from './trigger.js';

const params = z.object({ ...backdoorParams, ...patchParams }).strict();

export const badnets = defineAttack({
  name: 'badnets',
  aliases: ['patch'],
  description: 'patch trigger + relabel to the target class (Gu et al. 2017, BadNets)',
  kind: 'backdoor',
  needs: { surrogate: false, binary: false },
  params,
  create(p): Attack {
    const shapeOf = (data: Dataset) => checkImages(data, 'badnets', p);
    const trigger = makeTrigger(p.target, (x, i, data) => stampPatch(x, i, shapeOf(data), p));
    return {
      name: 'badnets',
      kind: 'backdoor',
      params: p,
      trigger,
      async poison(data) {
        const started = performance.now();
        const shape = shapeOf(data);
        checkTarget(data, p.target, 'badnets');
        const others = indicesWhere(data, (c) => c !== p.target);
        const picked = chooseSamples(others, poisonCount(p.rate, numSamples(data)), p.seed);
        const x = Float32Array.from(data.x);
        const y = Int32Array.from(data.y);
        for (const i of picked) {
          stampPatch(x, i, shape, p);
          y[i] = p.target;
        }
        return backdoorOutcome('badnets', data, x, y, picked, { ...p }, started);
      },
    };
  },
});
