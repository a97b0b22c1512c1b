import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';

/**
 * Dropout whose masks are reproducible: every training call draws a fresh mask from a seeded stream.
 * (tfjs's own Dropout with a `seed` reuses the same mask on every call, and without one it uses
 * Math.random.) At inference it is the identity; in training it zeroes with probability `rate` and
 * scales the kept units by 1 / (1 - rate), as PyTorch's nn.Dropout.
 */
export class SeededDropout extends tf.layers.Layer {
  static className = 'PoisonlabSeededDropout';
  readonly rate: number;
  private readonly rng: Rng;
  private readonly seedValue: number;

  constructor(args: { rate: number; seed: number; name?: string }) {
    super(args.name === undefined ? {} : { name: args.name });
    this.rate = args.rate;
    this.seedValue = args.seed;
    this.rng = new Rng(args.seed);
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs.training !== true || this.rate === 0) return tf.clone(x);
    return tf.dropout(x, this.rate, undefined, this.rng.seed());
  }

  /** The mask stream's state (training checkpoints save it, so a resumed run draws the same masks). */
  get maskRng(): Rng {
    return this.rng;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seedValue };
  }
}
tf.serialization.registerClass(SeededDropout);
