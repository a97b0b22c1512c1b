/**
 * Regime B: clean-label perturbations under a per-sample budget ||delta_i||_2 <= B, found by
 * projected gradient ascent of -CE(-f(x + delta), y), each step either along the per-sample
 * normalised gradient (step rule 'normalized', the original as last published)
 *     delta_i += eta * grad_i / ||grad_i||     (no step where grad_i = 0),
 * or along the raw gradient (step rule 'raw', the original at the date of the paper's figure)
 *     delta_i += eta * grad_i,
 * then clipping to the pixel range and projecting every delta_i onto its l2 ball of radius B.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { check, checkNumber } from '../util/errors.js';
import {
  type AscentAttackOptions,
  checkSurrogateFits,
  runPerturbationAttack,
} from './perturbation-attack.js';
import { FLOAT32_SAFETY, projectL2BallTensor } from './projection.js';
import type { PoisoningAttack, PoisonResult } from './types.js';

export interface PerSamplePoisonOptions extends AscentAttackOptions {
  /** B: the l2 radius of every sample's perturbation (the original: 1). */
  B: number;
  /** 'normalized' (default): unit per-sample gradient steps; 'raw': the gradient itself. */
  stepRule?: BStepRule;
}

/** Regime B's step: along the per-sample unit gradient, or along the raw gradient. */
export type BStepRule = 'normalized' | 'raw';

/** Regime B attack (with the normalized step rule the loss reduction does not matter: each step is unit length). */
export class PerSamplePoisonAttack implements PoisoningAttack {
  readonly regime = 'B' as const;

  constructor(readonly options: PerSamplePoisonOptions) {
    checkNumber(options.B, 'regime B budget B', { min: 0 });
    const rule = options.stepRule ?? 'normalized';
    check(
      rule === 'normalized' || rule === 'raw',
      `regime B stepRule: expected 'normalized' or 'raw', got '${rule}'`,
    );
  }

  async poison(data: Dataset, surrogate?: tf.LayersModel): Promise<PoisonResult> {
    const model = checkSurrogateFits(surrogate, data, 'B');
    const radius = this.options.B;
    const stepRule = this.options.stepRule ?? 'normalized';
    return runPerturbationAttack(
      data,
      model,
      'B',
      radius,
      this.options,
      stepRule === 'raw' ? 'gradient' : 'normalised',
      (delta) => projectL2BallTensor(delta, radius * FLOAT32_SAFETY),
      { B: radius, stepRule },
    );
  }
}
