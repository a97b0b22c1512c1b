import * as tf from '@tensorflow/tfjs';
import { fusedSgdUpdate } from '../backend/fused-ops.js';
import type { SgdSettings } from '../backend/heap-ops.js';

/**
 * PyTorch's torch.optim.SGD (dampening 0, no Nesterov), on tfjs variables:
 *
 *   g <- grad + weightDecay * w
 *   v <- momentum * v + g        (v starts at 0, so the first step has v = g, as PyTorch's buffer)
 *   w <- w - lr * v              (w - lr * g when momentum is 0)
 *
 * Written here rather than using tf.train.momentum, whose dispose() leaks its learning-rate scalar.
 */
export class Sgd {
  private readonly velocity = new Map<string, tf.Variable>();

  constructor(
    private lr: number,
    private readonly momentum = 0,
    private readonly weightDecay = 0,
  ) {}

  /** Change the learning rate (a schedule's step; momentum buffers are kept, as PyTorch's schedulers do). */
  setLearningRate(lr: number): void {
    this.lr = lr;
  }

  /** The learning rate when this is plain SGD (no momentum, no weight decay), else null. */
  plainLearningRate(): number | null {
    return this.momentum === 0 && this.weightDecay === 0 ? this.lr : null;
  }

  /**
   * Apply one update to every variable of `vars` with its gradient in `grads` (keyed by variable name).
   * On the wasm backend each variable's update is one pass (fusedSgdUpdate, in place when the
   * variable's data is not shared; bit-identical to the tfjs formula below, which runs elsewhere).
   */
  step(vars: readonly tf.Variable[], grads: tf.NamedTensorMap): void {
    tf.tidy(() => {
      for (const w of vars) {
        const grad = grads[w.name];
        if (!grad) continue;
        let v: tf.Variable | undefined;
        if (this.momentum > 0) {
          v = this.velocity.get(w.name);
          if (!v) {
            // in its own tidy, so that no other tensor shares its data (see fusedSgdUpdate)
            v = tf.tidy(() => tf.variable(tf.zerosLike(w), false));
            this.velocity.set(w.name, v);
          }
        }
        const attrs: SgdSettings = { lr: this.lr, momentum: this.momentum, weightDecay: this.weightDecay };
        if (fusedSgdUpdate(w, grad, v, attrs)) continue;
        let g = this.weightDecay > 0 ? tf.add(grad, tf.mul(w, this.weightDecay)) : grad;
        if (v) {
          v.assign(tf.add(tf.mul(v, this.momentum), g));
          g = v;
        }
        w.assign(tf.sub(w, tf.mul(g, this.lr)));
      }
    });
  }

  /** The momentum buffers of `vars`, in their order (null where none exists yet), for checkpoints. */
  velocities(vars: readonly tf.Variable[]): (Float32Array | null)[] {
    return vars.map((w) => {
      const v = this.velocity.get(w.name);
      return v ? (v.dataSync() as Float32Array).slice() : null;
    });
  }

  /** Restore momentum buffers saved by velocities() for the same `vars` (shapes taken from the variables). */
  setVelocities(vars: readonly tf.Variable[], values: readonly (Float32Array | null)[]): void {
    vars.forEach((w, i) => {
      const data = values[i];
      if (!data) return;
      this.velocity.get(w.name)?.dispose();
      // in its own tidy, so that no other tensor shares its data (see fusedSgdUpdate)
      this.velocity.set(
        w.name,
        tf.tidy(() => tf.variable(tf.tensor(data, w.shape, 'float32'), false)),
      );
    });
  }

  /** Free the momentum buffers. */
  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
