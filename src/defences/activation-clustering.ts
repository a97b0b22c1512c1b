/**
 * Activation clustering (Chen et al. 2018, "Detecting Backdoor Attacks on Deep Neural Networks by Activation
 * Clustering"): per class, reduce the penultimate representations to `components` dimensions (PCA here; the paper
 * uses ICA), split them with 2-means, and remove the smaller cluster when it holds at most `maxFraction` of the
 * class (the paper's relative-size criterion).
 */
import { z } from 'zod';
import { projectRows, topDirections, twoMeans } from './linalg.js';
import { defineDefence, removePerClass } from './registry.js';

export const activationClustering = defineDefence({
  name: 'activation-clustering',
  aliases: ['ac'],
  description: 'per class, 2-means on PCA-reduced activations; drop the small cluster (Chen et al. 2018)',
  needs: { features: true },
  params: z
    .object({
      components: z
        .number()
        .int()
        .min(1)
        .default(10)
        .describe('dimensions kept before clustering (the paper: 10)'),
      maxFraction: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.35)
        .describe('remove the smaller cluster when it holds at most this fraction of its class'),
      seed: z.number().int().min(0).default(0).describe('seed of the k-means starts'),
    })
    .strict(),
  create(p) {
    return {
      name: 'activation-clustering',
      params: p,
      needs: { features: true },
      async apply(input) {
        return removePerClass('activation-clustering', { ...p }, input, 4, (idx, a, dim) => {
          const dirs = topDirections(a, idx.length, dim, p.components, p.seed, 40);
          const reduced = projectRows(a, idx.length, dim, dirs);
          const assign = twoMeans(reduced, idx.length, dirs.length, p.seed);
          let ones = 0;
          for (const c of assign) ones += c;
          const small = ones <= idx.length - ones ? 1 : 0;
          const size = small === 1 ? ones : idx.length - ones;
          if (size === 0 || size > p.maxFraction * idx.length) return [];
          return idx.filter((_, r) => assign[r] === small);
        });
      },
    };
  },
});
