/**
 * The built-in attacks, registered once. Adding an attack: write its file (an `AttackEntry` made with
 * `defineAttack`), add one line below, and a test. Nothing else reads attack names.
 */
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { badnets } from './backdoor/badnets.js';
import { blended } from './backdoor/blended.js';
import { labelConsistent } from './backdoor/label-consistent.js';
import { L21PoisonAttack } from './l21-attack.js';
import { LabelFlipAttack } from './label-flip-attack.js';
import { PerSamplePoisonAttack } from './per-sample-attack.js';
import { type Attack, type AttackOutcome, defineAttack, registerAttack } from './registry.js';
import { shiftAttack } from './shift-attack.js';
import type { PoisonResult } from './types.js';

/** Samples whose input or label differ from the clean set: the poison mask of the paper's attacks. */
export function changedMask(clean: Dataset, r: PoisonResult): AttackOutcome {
  const n = clean.y.length;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = r.deltaNorm[i]! > 0 || r.dataset.y[i] !== clean.y[i] ? 1 : 0;
  return { ...r, poisonMask: mask };
}

/** The gradient-ascent settings regimes A and B share (the original's MNIST values as defaults). */
const ascentParams = {
  epochs: z.number().int().min(0).default(500).describe('ascent passes over the data (the original: 500)'),
  step: z.number().min(0).default(0.1).describe('step size eta (the original: 0.1 MNIST, 0.5 CIFAR-10)'),
  batchSize: z.number().int().min(1).default(128).describe('ascent minibatch size'),
  projectEvery: z
    .enum(['epoch', 'step'])
    .default('epoch')
    .describe('when delta is projected onto the budget'),
  reduction: z.enum(['mean', 'sum']).default('mean').describe('minibatch loss reduction'),
  surrogateMode: z
    .enum(['eval', 'train'])
    .default('eval')
    .describe(
      "surrogate in inference mode, or 'train': dropout on, seeded masks (the original's CIFAR attack)",
    ),
  surrogateInput: z
    .enum(['raw', 'normalized'])
    .default('raw')
    .describe("x + delta past the surrogate's input normalisation ('raw', the original) or through it"),
  seed: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('seed of the minibatch order (sweeps: the repetition seed)'),
};

export const l21Perturbation = defineAttack({
  name: 'l21-perturbation',
  aliases: ['A', 'l21'],
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
        const a = new L21PoisonAttack({
          ...p,
          C: p.budget,
          ...(ctx?.onProgress && { onProgress: ctx.onProgress }),
          ...(ctx?.checkpoint && { checkpoint: ctx.checkpoint }),
        });
        const r = await a.poison(data, ctx?.surrogate);
        return changedMask(data, { ...r, report: { ...r.report, attack: 'l21-perturbation' } });
      },
    };
  },
});

export const perSamplePerturbation = defineAttack({
  name: 'per-sample-perturbation',
  aliases: ['B', 'per-sample'],
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
        const a = new PerSamplePoisonAttack({
          ...p,
          B: p.budget,
          ...(ctx?.onProgress && { onProgress: ctx.onProgress }),
          ...(ctx?.checkpoint && { checkpoint: ctx.checkpoint }),
        });
        const r = await a.poison(data, ctx?.surrogate);
        return changedMask(data, { ...r, report: { ...r.report, attack: 'per-sample-perturbation' } });
      },
    };
  },
});

export const labelFlip = defineAttack({
  name: 'label-flip',
  aliases: ['C', 'flip'],
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
    const a = new LabelFlipAttack({ beta: p.beta, seed: p.seed });
    return {
      name: 'label-flip',
      kind: 'availability',
      params: p,
      async poison(data) {
        const r = await a.poison(data);
        return changedMask(data, { ...r, report: { ...r.report, attack: 'label-flip' } });
      },
    };
  },
});

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

registerAttack(l21Perturbation);
registerAttack(perSamplePerturbation);
registerAttack(labelFlip);
registerAttack(shift);
registerAttack(badnets);
registerAttack(blended);
registerAttack(labelConsistent);
