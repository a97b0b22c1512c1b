/**
 * Regime B: clean-label perturbations under a per-sample budget ||delta_i||_2 <= B, found by
 * projected gradient ascent of -CE(-f(x + delta), y) along the per-sample normalised gradient,
 *     delta_i += eta * grad_i / ||grad_i||     (no step where grad_i = 0),
 * then clipping to the pixel range and projecting every delta_i onto its l2 ball of radius B.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';
import { checkNumber } from '../util/errors.js';
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
}

/** Regime B attack (the loss reduction does not matter here: the step is normalised per sample). */
export class PerSamplePoisonAttack implements PoisoningAttack {
  readonly regime = 'B' as const;

  constructor(readonly options: PerSamplePoisonOptions) {
    checkNumber(options.B, 'regime B budget B', { min: 0 });
  }

  async poison(data: Dataset, surrogate?: tf.LayersModel): Promise<PoisonResult> {
    const model = checkSurrogateFits(surrogate, data, 'B');
    const radius = this.options.B;
    return runPerturbationAttack(
      data,
      model,
      'B',
      radius,
      this.options,
      'normalised',
      (delta) => projectL2BallTensor(delta, radius * FLOAT32_SAFETY),
      { B: radius },
    );
  }
}
