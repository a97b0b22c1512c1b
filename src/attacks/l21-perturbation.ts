/**
 * Regime A: clean-label perturbations under an overall l2,1 budget,
 *     sum_i ||delta_i||_2 <= C * sqrt(n),
 * found by projected gradient ascent of -CE(-f(x + delta), y) against a frozen surrogate f with
 * steps delta += eta * grad and the exact l2,1-ball projection (group soft-thresholding).
 * The gradient of the default mean-reduced loss is 1/batch of each sample's own gradient (as in the original,
 * which uses torch's mean-reduced CrossEntropyLoss); `reduction: 'sum'` gives per-sample-sized steps.
 */
import { z } from 'zod';
import { numSamples } from '../data/dataset.js';
import { ascentOptions, ascentParams } from './ascent-params.js';
import { changedMask } from './changed-mask.js';
import { checkSurrogateFits, runPerturbationAttack } from './perturbation-attack.js';
import { FLOAT32_SAFETY, projectL21BallTensor } from './projection.js';
import { type Attack, defineAttack } from './registry.js';

export const l21Perturbation = defineAttack({
  name: 'l21-perturbation',
  aliases: ['A', 'l21'],
  paperRegime: 'A',
  description:
    'regime A: sum_i ||delta_i|| <= C sqrt(n) by projected gradient ascent on a surrogate (Wang, Mianjy & Arora 2021)',
  kind: 'availability',
  needs: { surrogate: true, binary: false },
  params: z
    .object({
      budget: z.number().min(0).default(500).describe('C: the overall l2,1 budget is C sqrt(n) (raw pixels)'),
      ...ascentParams,
    })
    .strict(),
  create(p): Attack {
    return {
      name: 'l21-perturbation',
      kind: 'availability',
      params: p,
      async poison(data, ctx) {
        const model = checkSurrogateFits(ctx?.surrogate, data, 'A');
        const C = p.budget;
        const radius = C * Math.sqrt(numSamples(data));
        const r = runPerturbationAttack(
          data,
          model,
          'A',
          radius,
          ascentOptions(p, ctx),
          'gradient',
          (delta) => projectL21BallTensor(delta, radius * FLOAT32_SAFETY),
          { C, radius },
        );
        return changedMask(data, { ...r, report: { ...r.report, attack: 'l21-perturbation' } });
      },
    };
  },
});
