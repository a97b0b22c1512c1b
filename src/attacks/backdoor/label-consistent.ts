/**
 * Label-consistent (clean-label) backdoor (Turner, Tsipras & Madry 2019, "Label-Consistent Backdoor Attacks"):
 * a fraction `rate` of the training set, drawn (seeded) among samples OF the target class, is first made hard to
 * classify by a bounded perturbation against the surrogate, then stamped with the patch trigger. Labels never
 * change, so every poisoned sample still looks correctly labelled; the network learns to rely on the patch.
 *
 * The perturbation is the project's projected gradient ascent (../gradient-ascent.ts, the regime-B step):
 * per-sample normalised steps of size `step` on -CE(-f(x + delta), y), pixels clipped to [0, 1], each
 * delta_i projected onto the l2 ball of radius `budget` once per epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numSamples, sampleSize } from '../../data/dataset.js';
import { check } from '../../util/errors.js';
import { projectedGradientAscent } from '../gradient-ascent.js';
import { checkSurrogateFits } from '../perturbation-attack.js';
import { FLOAT32_SAFETY, projectL2BallTensor } from '../projection.js';
import { type Attack, defineAttack } from '../registry.js';
import {
  backdoorOutcome,
  backdoorParams,
  checkImages,
  checkTarget,
  chooseSamples,
  indicesWhere,
  makeTrigger,
  patchParams,
  poisonCount,
  stampPatch,
} from './trigger.js';

const params = z
  .object({
    ...backdoorParams,
    ...patchParams,
    budget: z.number().min(0).default(2).describe('l2 radius of each perturbation (raw [0, 1] pixels)'),
    epochs: z.number().int().min(0).default(10).describe('ascent passes over the poisoned samples'),
    step: z.number().min(0).default(0.5).describe('l2 length of each normalised ascent step'),
    batchSize: z.number().int().min(1).default(128).describe('ascent minibatch size'),
  })
  .strict();

export const labelConsistent = defineAttack({
  name: 'label-consistent',
  aliases: ['clean-label', 'lc'],
  description:
    'target-class samples made hard by a bounded surrogate PGD, then patched; labels unchanged (Turner et al. 2019)',
  kind: 'backdoor',
  needs: { surrogate: true, binary: false },
  params,
  create(p): Attack {
    const trigger = makeTrigger(p.target, (x, i, data) =>
      stampPatch(x, i, checkImages(data, 'label-consistent', p), p),
    );
    return {
      name: 'label-consistent',
      kind: 'backdoor',
      params: p,
      trigger,
      async poison(data, ctx) {
        const started = performance.now();
        const shape = checkImages(data, 'label-consistent', p);
        checkTarget(data, p.target, 'label-consistent');
        const model = checkSurrogateFits(ctx?.surrogate, data, 'label-consistent');
        const own = indicesWhere(data, (c) => c === p.target);
        const count = poisonCount(p.rate, numSamples(data));
        check(
          count <= own.length,
          `label-consistent: rate ${p.rate} means ${count} poisoned samples, but class ${p.target} has only ${own.length}`,
        );
        const picked = chooseSamples(own, count, p.seed);
        const d = sampleSize(data);
        const sub = new Float32Array(count * d);
        picked.forEach((i, j) => {
          sub.set(data.x.subarray(i * d, (i + 1) * d), j * d);
        });
        const xs = tf.tensor(sub, [count, ...data.sampleShape], 'float32');
        const ys = tf.fill([count], p.target, 'int32') as tf.Tensor1D;
        let hard: Float32Array;
        try {
          const { delta } = projectedGradientAscent(model, xs, ys, {
            epochs: p.epochs,
            step: p.step,
            batchSize: p.batchSize,
            seed: p.seed,
            projectEvery: 'epoch',
            direction: 'normalised',
            clip: [0, 1],
            reduction: 'mean',
            project: (dl) => projectL2BallTensor(dl, p.budget * FLOAT32_SAFETY),
            ...(ctx?.onProgress && { onProgress: ctx.onProgress }),
          });
          const out = tf.tidy(() => tf.clipByValue(tf.add(xs, delta), 0, 1));
          delta.dispose();
          hard = out.dataSync() as Float32Array;
          out.dispose();
        } finally {
          xs.dispose();
          ys.dispose();
        }
        const x = Float32Array.from(data.x);
        picked.forEach((i, j) => {
          x.set(hard.subarray(j * d, (j + 1) * d), i * d);
          stampPatch(x, i, shape, p);
        });
        return backdoorOutcome(
          'label-consistent',
          data,
          x,
          Int32Array.from(data.y),
          picked,
          { ...p },
          started,
        );
      },
    };
  },
});
