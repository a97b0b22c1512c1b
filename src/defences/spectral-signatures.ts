/**
 * Spectral signatures (Tran, Li & Madry 2018, "Spectral Signatures in Backdoor Attacks"): per class (by training
 * label), centre the penultimate representations, score each sample by its squared projection on the top
 * singular vector, and remove the `factor * expectedRate * n_class` highest scores.
 */
import { z } from 'zod';
import { topDirections } from './linalg.js';
import { defineDefence, removePerClass } from './registry.js';

export const spectralSignatures = defineDefence({
  name: 'spectral-signatures',
  aliases: ['spectral', 'ss'],
  description: 'remove the top outlier scores along each class’s top singular vector (Tran et al. 2018)',
  needs: { features: true },
  params: z
    .object({
      expectedRate: z
        .number()
        .gt(0)
        .max(1)
        .default(0.1)
        .describe('upper bound epsilon on the poisoned fraction of a class'),
      factor: z
        .number()
        .gt(0)
        .default(1.5)
        .describe('remove factor * epsilon * n_class per class (the paper: 1.5)'),
    })
    .strict(),
  create(p) {
    return {
      name: 'spectral-signatures',
      params: p,
      needs: { features: true },
      async apply(input) {
        return removePerClass('spectral-signatures', { ...p }, input, 2, (idx, a, dim) => {
          const [v] = topDirections(a, idx.length, dim, 1, 0, 60);
          const scores = idx.map((_, r) => {
            let s = 0;
            for (let j = 0; j < dim; j++) s += a[r * dim + j]! * v![j]!;
            return s * s;
          });
          const count = Math.min(idx.length, Math.round(p.factor * p.expectedRate * idx.length));
          const order = scores.map((s, r) => [s, r] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
          return order.slice(0, count).map(([, r]) => idx[r]!);
        });
      },
    };
  },
});
