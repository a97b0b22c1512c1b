/**
 * Regime A: clean-label perturbations under an overall l2,1 budget,
 *     sum_i ||delta_i||_2 <= C * sqrt(n),
 * found by projected gradient ascent of -CE(-f(x + delta), y) against a frozen surrogate f with
 * steps delta += eta * grad and the exact l2,1-ball projection (group soft-thresholding).
 */
import type * as tf from '@tensorflow/tfjs';
import { type Dataset, numSamples } from '../data/dataset.js';
import { checkNumber } from '../util/errors.js';
import {
  type AscentAttackOptions,
  checkSurrogateFits,
  runPerturbationAttack,
} from './perturbation-attack.js';
import { FLOAT32_SAFETY, projectL21BallTensor } from './projection.js';
import type { PoisoningAttack, PoisonResult } from './types.js';

export interface L21PoisonOptions extends AscentAttackOptions {
  /** C: the l2,1 radius is C * sqrt(n) for n attacked samples (the original: 500 MNIST, 1000 CIFAR-10). */
  C: number;
}

/**
 * Regime A attack. The gradient of the default mean-reduced loss is 1/batch of each sample's own
 * gradient (as in the original, which uses torch's mean-reduced CrossEntropyLoss); pass
 * `reduction: 'sum'` for per-sample-sized steps.
 */
export class L21PoisonAttack implements PoisoningAttack {
  readonly regime = 'A' as const;

  constructor(readonly options: L21PoisonOptions) {
    checkNumber(options.C, 'regime A budget C', { min: 0 });
  }

  async poison(data: Dataset, surrogate?: tf.LayersModel): Promise<PoisonResult> {
    const model = checkSurrogateFits(surrogate, data, 'A');
    const radius = this.options.C * Math.sqrt(numSamples(data));
    return runPerturbationAttack(
      data,
      model,
      'A',
      radius,
      this.options,
      'gradient',
      (delta) => projectL21BallTensor(delta, radius * FLOAT32_SAFETY),
      { C: this.options.C, radius },
    );
  }
}
