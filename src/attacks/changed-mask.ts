import type { Dataset } from '../data/dataset.js';
import type { AttackOutcome } from './registry.js';
import type { PoisonResult } from './types.js';

/** Samples whose input or label differ from the clean set: the poison mask of the paper's attacks. */
export function changedMask(clean: Dataset, r: PoisonResult): AttackOutcome {
  const n = clean.y.length;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = r.deltaNorm[i]! > 0 || r.dataset.y[i] !== clean.y[i] ? 1 : 0;
  return { ...r, poisonMask: mask };
}
