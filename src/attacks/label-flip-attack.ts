/**
 * Regime C: label flipping. Each label is flipped independently with probability beta (seeded):
 * y -> (y + 1) mod K. For a binary task (K = 2, class 0 = label -1, class 1 = label +1) this is
 * the theory's y -> -y. Inputs are unchanged.
 */
import { type Dataset, numClasses, numSamples } from '../data/dataset.js';
import { check, checkNumber } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { PoisoningAttack, PoisonResult } from './types.js';

export interface LabelFlipOptions {
  /** Flip probability in [0, 1]. */
  beta: number;
  seed: number;
  /** K; defaults to the dataset's class count (and must agree with it when given). */
  numClasses?: number;
}

export class LabelFlipAttack implements PoisoningAttack {
  readonly regime = 'C' as const;

  constructor(readonly options: LabelFlipOptions) {
    checkNumber(options.beta, 'regime C flip probability beta', { min: 0, max: 1 });
    checkNumber(options.seed, 'attack seed', { min: 0, integer: true });
    if (options.numClasses !== undefined) {
      checkNumber(options.numClasses, 'label flip numClasses', { min: 2, integer: true });
    }
  }

  async poison(data: Dataset): Promise<PoisonResult> {
    const started = performance.now();
    const k = this.options.numClasses ?? numClasses(data);
    check(
      k === numClasses(data),
      `label flip numClasses ${k} does not match the ${numClasses(data)} classes of ${data.name}`,
    );
    check(k >= 2, `label flip: ${data.name} has ${k} class(es), need at least 2`);
    const n = numSamples(data);
    const rng = new Rng(this.options.seed);
    const y = Int32Array.from(data.y);
    let flipped = 0;
    for (let i = 0; i < n; i++) {
      // One uniform draw per sample, in sample order, so the flips depend only on (seed, n).
      if (rng.uniform() < this.options.beta) {
        y[i] = (y[i]! + 1) % k;
        flipped++;
      }
    }
    return {
      dataset: {
        name: `${data.name}+C`,
        x: Float32Array.from(data.x),
        y,
        sampleShape: data.sampleShape,
        classNames: data.classNames,
      },
      deltaNorm: new Float32Array(n),
      report: {
        regime: 'C',
        params: { beta: this.options.beta, seed: this.options.seed, numClasses: k },
        n,
        budget: this.options.beta,
        deltaNormSum: 0,
        deltaNormMax: 0,
        samplesChanged: flipped,
        labelsFlipped: flipped,
        seconds: (performance.now() - started) / 1000,
      },
    };
  }
}
