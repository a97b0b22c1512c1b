/** The parameters of the gradient attacks (regimes A and B), in one place: schemas, defaults, and their options. */
import { z } from 'zod';
import type { AscentAttackOptions } from './perturbation-attack.js';
import type { AttackContext } from './registry.js';

/** The gradient-ascent settings regimes A and B share (the original's MNIST values as defaults). */
export const ascentParams = {
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

/** The validated ascent settings of an entry's params, with the caller's progress and checkpoint. */
export function ascentOptions(
  p: {
    epochs: number;
    step: number;
    batchSize: number;
    projectEvery: 'epoch' | 'step';
    reduction: 'mean' | 'sum';
    surrogateMode: 'eval' | 'train';
    surrogateInput: 'raw' | 'normalized';
    seed: number;
  },
  ctx: AttackContext | undefined,
): AscentAttackOptions {
  return {
    epochs: p.epochs,
    step: p.step,
    batchSize: p.batchSize,
    projectEvery: p.projectEvery,
    reduction: p.reduction,
    surrogateMode: p.surrogateMode,
    surrogateInput: p.surrogateInput,
    seed: p.seed,
    ...(ctx?.onProgress && { onProgress: ctx.onProgress }),
    ...(ctx?.checkpoint && { checkpoint: ctx.checkpoint }),
  };
}
