/**
 * Regime B: clean-label perturbations under a per-sample budget ||delta_i||_2 <= B, found by
 * projected gradient ascent of -CE(-f(x + delta), y), each step either along the per-sample
 * normalised gradient (step rule 'normalized', the original as last published)
 *     delta_i += eta * grad_i / ||grad_i||     (no step where grad_i = 0),
 * or along the raw gradient (step rule 'raw', the original at the date of the paper's figure)
 *     delta_i += eta * grad_i,
 * then clipping to the pixel range and projecting every delta_i onto its l2 ball of radius B.
 */
import { z } from 'zod';
import { ascentOptions, ascentParams } from './ascent-params.js';
import { changedMask } from './changed-mask.js';
import { checkSurrogateFits, runPerturbationAttack } from './perturbation-attack.js';
import { FLOAT32_SAFETY, projectL2BallTensor } from './projection.js';
import { type Attack, defineAttack } from './registry.js';

/** Regime B's step: along the per-sample unit gradient, or along the raw gradient. */
export type BStepRule = 'normalized' | 'raw';

export const perSamplePerturbation = defineAttack({
  name: 'per-sample-perturbation',
  aliases: ['B', 'per-sample'],
  paperRegime: 'B',
  description:
    'regime B: ||delta_i|| <= B per sample by projected gradient ascent on a surrogate (Wang, Mianjy & Arora 2021)',
  kind: 'availability',
  needs: { surrogate: true, binary: false },
  params: z
    .object({
      budget: z.number().min(0).default(1).describe('B: the l2 radius of every perturbation (raw pixels)'),
      stepRule: z
        .enum(['normalized', 'raw'])
        .default('normalized')
        .describe(
          "'normalized': delta_i += eta g_i/||g_i|| (the original as published); 'raw': delta_i += eta g_i (the figure's date)",
        ),
      ...ascentParams,
    })
    .strict(),
  create(p): Attack {
    return {
      name: 'per-sample-perturbation',
      kind: 'availability',
      params: p,
      async poison(data, ctx) {
        const model = checkSurrogateFits(ctx?.surrogate, data, 'B');
        const radius = p.budget;
        const stepRule: BStepRule = p.stepRule;
        const r = runPerturbationAttack(
          data,
          model,
          'B',
          radius,
          ascentOptions(p, ctx),
          stepRule === 'raw' ? 'gradient' : 'normalised',
          (delta) => projectL2BallTensor(delta, radius * FLOAT32_SAFETY),
          { B: radius, stepRule },
        );
        return changedMask(data, { ...r, report: { ...r.report, attack: 'per-sample-perturbation' } });
      },
    };
  },
});
