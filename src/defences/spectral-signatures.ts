/**
 * Spectral signatures (Tran, Li & Madry 2018, "Spectral Signatures in Backdoor Attacks"): per class (by training
 * label), centre the penultimate representations, score each sample by its squared projection on the top
 * singular vector, and remove the `factor * expectedRate * n_class` highest scores.
 */
import { z } from 'zod';
import { numClasses } from '../data/dataset.js';
import { check } from '../util/errors.js';
import { byClass, centredRows, topDirections } from './linalg.js';
import { defineDefence, removeSamples } from './registry.js';

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
        const started = performance.now();
        const { data, features, featureDim } = input;
        check(
          features && featureDim,
          'spectral-signatures: needs the penultimate representations of a trained network',
        );
        const removed: number[] = [];
        for (const idx of byClass(data.y, numClasses(data))) {
          if (idx.length < 2) continue;
          const a = centredRows(features, featureDim, idx);
          const [v] = topDirections(a, idx.length, featureDim, 1, 0, 60);
          const scores = idx.map((_, r) => {
            let s = 0;
            for (let j = 0; j < featureDim; j++) s += a[r * featureDim + j]! * v![j]!;
            return s * s;
          });
          const count = Math.min(idx.length, Math.round(p.factor * p.expectedRate * idx.length));
          const order = scores.map((s, r) => [s, r] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
          for (let t = 0; t < count; t++) removed.push(idx[order[t]![1]]!);
        }
        removed.sort((a, b) => a - b);
        return removeSamples('spectral-signatures', { ...p }, input, removed, started);
      },
    };
  },
});
