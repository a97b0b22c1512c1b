import * as tf from '@tensorflow/tfjs';
import { type Dataset, numSamples } from '../data/dataset.js';
import { halfPlaneLogits, type SortedDirections, sortDirections } from './half-plane-logits.js';

/** What the online stepper of toy-ntk offers `train` (see trainToyNtkOnline). */
export interface ToyNtkOnline {
  /** One pass of batch-1 SGD over `order`; `afterStep` runs after every update. Returns the running means. */
  epoch(
    order: Int32Array,
    onBatch?: (done: number, total: number) => void,
    afterStep?: () => void,
  ): { loss: number; accuracy: number };
  /** Mean BCE loss and accuracy of the current weights on `ds` (mid-epoch too). */
  evaluate(ds: Dataset): { loss: number; accuracy: number };
  /** The current weights as new tensors, in model.weights order. */
  snapshot(): tf.Tensor[];
  /** No momentum buffer: this path runs plain SGD only. */
  velocity: undefined;
}

/** Numerically stable softplus(f) = log(1 + e^f). */
function softplus(f: number): number {
  return f > 0 ? f + Math.log1p(Math.exp(-f)) : Math.log1p(Math.exp(f));
}

function sigmoid(f: number): number {
  if (f >= 0) return 1 / (1 + Math.exp(-f));
  const e = Math.exp(f);
  return e / (1 + e);
}

/**
 * Plain SGD at batch size 1 of the original toy's net f_k(x) = sum_s a_ks relu(w_s . x) (models/toy-ntk.ts) on
 * BCEWithLogitsLoss against one-hot labels, in plain JS: the generic tfjs path without its per-op overhead,
 * which matters because the original validates after every step. For a sample (x, y), with t the one-hot label,
 *   L = (1/K) sum_k softplus(f_k) - t_k f_k,   dL/df_k = (sigmoid(f_k) - t_k) / K,
 *   dL/dw_s = (sum_k a_ks dL/df_k) 1[w_s . x > 0] x,   w_s <- w_s - lr dL/dw_s.
 * W lives here during an epoch (float32, as the model's kernel) and is written back at the end of each epoch.
 */
export function trainToyNtkOnline(model: tf.LayersModel, train: Dataset, lr: number): ToyNtkOnline {
  const hidden = model.getLayer('hidden');
  const hiddenVar = hidden.weights[0]!;
  const [d, m] = hiddenVar.shape as [number, number];
  const w = hiddenVar.read().dataSync().slice() as Float32Array; // [d, m]: w[j * m + s] = (w_s)_j
  const outputKernel = model.getLayer('output').getWeights()[0]!;
  const k = outputKernel.shape[1]!;
  const a = outputKernel.dataSync() as Float32Array; // [m, K]: a[s * K + c] = a_cs
  const h = new Float64Array(m);
  const f = new Float64Array(k);
  const delta = new Float64Array(k);
  let columns: { ds: Dataset; x: Float64Array[] } | undefined;
  let sorted: { ds: Dataset; dirs: SortedDirections; diff: Float64Array } | undefined;

  /** The logits of sample i of `x` (row-major [n, d]) into `out`; the pre-activations stay in h. */
  function forward(x: Float32Array, i: number, out: Float64Array): void {
    if (d === 2 && k === 2) {
      // the toy's case, unrolled
      const x0 = x[2 * i]!;
      const x1 = x[2 * i + 1]!;
      let f0 = 0;
      let f1 = 0;
      for (let s = 0; s < m; s++) {
        const z = w[s]! * x0 + w[m + s]! * x1;
        h[s] = z;
        const r = Math.max(z, 0);
        f0 += a[2 * s]! * r;
        f1 += a[2 * s + 1]! * r;
      }
      out[0] = f0;
      out[1] = f1;
      return;
    }
    for (let s = 0; s < m; s++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j * m + s]! * x[i * d + j]!;
      h[s] = z;
    }
    out.fill(0);
    for (let s = 0; s < m; s++) {
      const r = h[s]!;
      if (r > 0) for (let c = 0; c < k; c++) out[c]! += a[s * k + c]! * r;
    }
  }

  function argmax(v: Float64Array, offset: number, stride: number): number {
    let best = 0;
    for (let c = 1; c < k; c++) if (v[offset + c * stride]! > v[offset + best * stride]!) best = c;
    return best;
  }

  /** Logits [K, n] of `ds` on 2-D inputs by the angular sweep (half-plane-logits.ts), its sorting cached. */
  function planarLogits(ds: Dataset, n: number): Float64Array {
    if (sorted?.ds !== ds) {
      const dirs = sortDirections(ds.x, n);
      sorted = { ds, dirs, diff: new Float64Array(2 * k * (dirs.angle.length + 1)) };
    }
    const logits = new Float64Array(k * n);
    halfPlaneLogits(sorted.dirs, w, a, m, k, logits, sorted.diff);
    return logits;
  }

  /** Logits [K, n] of `ds` summed unit by unit (any d). */
  function directLogits(ds: Dataset, n: number): Float64Array {
    const x = columnsOf(ds);
    const logits = new Float64Array(k * n);
    const z = new Float64Array(n);
    for (let s = 0; s < m; s++) {
      z.fill(0);
      for (let j = 0; j < d; j++) {
        const wj = w[j * m + s]!;
        const col = x[j]!;
        for (let v = 0; v < n; v++) z[v] += wj * col[v]!;
      }
      for (let c = 0; c < k; c++) {
        const ac = a[s * k + c]!;
        for (let v = 0; v < n; v++) if (z[v]! > 0) logits[c * n + v] += ac * z[v]!;
      }
    }
    return logits;
  }

  /** The samples of `ds` as d columns, cached: the validation set is evaluated after every step. */
  function columnsOf(ds: Dataset): Float64Array[] {
    if (columns?.ds === ds) return columns.x;
    const n = numSamples(ds);
    const x = Array.from({ length: d }, (_, j) => {
      const col = new Float64Array(n);
      for (let i = 0; i < n; i++) col[i] = ds.x[i * d + j]!;
      return col;
    });
    columns = { ds, x };
    return x;
  }

  return {
    velocity: undefined,
    epoch(order, onBatch, afterStep) {
      let lossSum = 0;
      let correct = 0;
      const n = order.length;
      for (let t = 0; t < n; t++) {
        const i = order[t]!;
        const label = train.y[i]!;
        forward(train.x, i, f);
        let loss = 0;
        for (let c = 0; c < k; c++) {
          const target = c === label ? 1 : 0;
          loss += softplus(f[c]!) - target * f[c]!;
          delta[c] = (sigmoid(f[c]!) - target) / k;
        }
        lossSum += loss / k;
        if (argmax(f, 0, 1) === label) correct++;
        if (d === 2 && k === 2) {
          // the toy's case, unrolled; relu'(0) = 0, as in PyTorch
          const x0 = train.x[2 * i]!;
          const x1 = train.x[2 * i + 1]!;
          const d0 = lr * delta[0]!;
          const d1 = lr * delta[1]!;
          for (let s = 0; s < m; s++) {
            if (!(h[s]! > 0)) continue;
            const g = a[2 * s]! * d0 + a[2 * s + 1]! * d1;
            w[s] = w[s]! - g * x0;
            w[m + s] = w[m + s]! - g * x1;
          }
        } else
          for (let s = 0; s < m; s++) {
            if (!(h[s]! > 0)) continue; // relu'(0) = 0, as in PyTorch
            let g = 0;
            for (let c = 0; c < k; c++) g += a[s * k + c]! * delta[c]!;
            for (let j = 0; j < d; j++) w[j * m + s] = w[j * m + s]! - lr * g * train.x[i * d + j]!;
          }
        onBatch?.(t + 1, n);
        afterStep?.();
      }
      tf.tidy(() => hidden.setWeights([tf.tensor2d(w, [d, m])]));
      return { loss: lossSum / n, accuracy: correct / n };
    },
    evaluate(ds) {
      const n = numSamples(ds);
      if (n === 0) return { loss: Number.NaN, accuracy: Number.NaN };
      // The toy's 2-D inputs take the O(m + n) sweep; the direct sum is its reference and the general case.
      const logits = d === 2 ? planarLogits(ds, n) : directLogits(ds, n);
      let lossSum = 0;
      let correct = 0;
      for (let v = 0; v < n; v++) {
        const label = ds.y[v]!;
        for (let c = 0; c < k; c++) {
          const fc = logits[c * n + v]!;
          lossSum += softplus(fc) - (c === label ? fc : 0);
        }
        if (argmax(logits, v, n) === label) correct++;
      }
      return { loss: lossSum / (n * k), accuracy: correct / n };
    },
    snapshot() {
      return model.weights.map((v) =>
        v.name === hiddenVar.name ? tf.tensor2d(w, [d, m]) : tf.clone(v.read()),
      );
    },
  };
}
