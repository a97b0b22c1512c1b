/**
 * Bit-depth reduction (feature squeezing, Xu, Evans & Qi 2018): a data-independent baseline that rounds every
 * input to `bits` bits per value, round(x (2^b - 1)) / (2^b - 1), on the training set and (at evaluation) on the
 * test inputs. It removes nothing; faint triggers (a low-alpha blend) may not survive the rounding.
 */
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { defineDefence } from './registry.js';

/** A copy of `data` with every value rounded to `bits` bits in [0, 1]; also counts the samples that changed. */
export function squeezeBits(data: Dataset, bits: number): { data: Dataset; changed: number } {
  const levels = 2 ** bits - 1;
  const n = data.y.length;
  const d = n > 0 ? data.x.length / n : 0;
  const x = new Float32Array(data.x.length);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    let diff = false;
    for (let j = i * d; j < (i + 1) * d; j++) {
      const v = Math.round(Math.min(1, Math.max(0, data.x[j]!)) * levels) / levels;
      x[j] = v;
      if (v !== data.x[j]) diff = true;
    }
    if (diff) changed++;
  }
  return { data: { ...data, name: `${data.name}+bits${bits}`, x, y: Int32Array.from(data.y) }, changed };
}

export const bitDepth = defineDefence({
  name: 'bit-depth',
  aliases: ['squeeze', 'bit-depth-reduction'],
  description:
    'data-independent baseline: round train and test inputs to b bits (Xu et al. 2018, feature squeezing)',
  needs: { features: false },
  params: z
    .object({ bits: z.number().int().min(1).max(16).default(3).describe('bits per input value') })
    .strict(),
  create(p) {
    return {
      name: 'bit-depth',
      params: p,
      needs: { features: false },
      async apply(input) {
        const started = performance.now();
        const { data, changed } = squeezeBits(input.data, p.bits);
        return {
          dataset: data,
          transformInputs: (d) => squeezeBits(d, p.bits).data,
          report: {
            defence: 'bit-depth',
            params: { ...p },
            n: input.data.y.length,
            removed: [],
            precision: null,
            recall: null,
            transformed: changed,
            seconds: (performance.now() - started) / 1000,
          },
        };
      },
    };
  },
});
