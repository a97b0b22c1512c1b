import * as tf from '@tensorflow/tfjs';
import type { LossAttrs } from '../fused-ops.js';
import { heapBuffer, heapF32, makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import type { KernelArgs } from './state.js';

// The loss of a batch of logits and its gradient for 'wasm' (see LossAttrs in fused-ops.ts), in
// JS over the heap: the logits are small ([batch, classes]), and one kernel replaces the ~20 that
// logsumexp, oneHot, argMax, mean and their gradients take. Computed in float64 with the
// log-sum-exp trick, so extreme logits do not overflow.

interface Batch {
  h: Float32Array;
  /** Float offset of the logits. */
  z: number;
  rows: number;
  k: number;
  label: (i: number) => number;
  /** +1, or -1 when the loss sees the negated logits. */
  sign: number;
}

function batchOf(be: WasmBackend, logits: tf.TensorInfo, labels: tf.TensorInfo, a: LossAttrs): Batch {
  const rows = labels.shape[0]!;
  const size = tf.util.sizeFromShape(logits.shape);
  const k = rows === 0 ? 0 : size / rows;
  if (logits.dtype !== 'float32' || logits.shape[0] !== rows || !Number.isInteger(k))
    throw new Error(`${a.kind} loss: logits [${logits.shape}] do not match labels [${labels.shape}]`);
  if (a.kind === 'logistic' && size !== rows)
    throw new Error(`logistic loss: expected one logit per sample, got [${logits.shape}]`);
  const lo = offsetOf(be, labels);
  const view =
    labels.dtype === 'int32'
      ? new Int32Array(heapBuffer(be), lo, rows)
      : labels.dtype === 'float32'
        ? new Float32Array(heapBuffer(be), lo, rows)
        : null;
  if (!view) throw new Error(`loss: labels must be int32 or float32, got ${labels.dtype}`);
  return {
    h: heapF32(be),
    z: offsetOf(be, logits) >> 2,
    rows,
    k,
    label: (i) => view[i]!,
    sign: a.negate ? -1 : 1,
  };
}

/** Per-sample loss and correctness of row i. */
function rowLoss(b: Batch, kind: LossAttrs['kind'], i: number): { loss: number; correct: number } {
  const { h, sign } = b;
  const y = b.label(i);
  if (kind === 'logistic') {
    const s = 2 * y - 1;
    const m = s * sign * h[b.z + i]!; // the margin s z
    // softplus(-m) = max(-m, 0) + log1p(exp(-|m|))
    return { loss: Math.max(-m, 0) + Math.log1p(Math.exp(-Math.abs(m))), correct: m > 0 ? 1 : 0 };
  }
  const z = b.z + i * b.k;
  let max = sign * h[z]!;
  let arg = 0;
  for (let j = 1; j < b.k; j++) {
    const v = sign * h[z + j]!;
    if (v > max) {
      max = v;
      arg = j;
    }
  }
  let sum = 0;
  for (let j = 0; j < b.k; j++) sum += Math.exp(sign * h[z + j]! - max);
  const picked = y >= 0 && y < b.k && Number.isInteger(y) ? sign * h[z + y]! : 0;
  return { loss: max + Math.log(sum) - picked, correct: arg === y ? 1 : 0 };
}

/** PoisonlabLoss for 'wasm': outputs [loss, correct]. */
export function lossKernel(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as WasmBackend;
  const a = args.attrs as unknown as LossAttrs;
  const { logits, labels } = args.inputs;
  const rows = labels.shape[0]!;
  const perSample = a.reduction === 'none';
  const loss = makeFloatOutput(be, perSample ? [rows] : []);
  const correct = makeFloatOutput(be, perSample ? [rows] : []);
  const b = batchOf(be, logits, labels, a); // after the allocations: the heap may have grown
  const lo = loss.off >> 2;
  const co = correct.off >> 2;
  let lossSum = 0;
  let correctSum = 0;
  for (let i = 0; i < rows; i++) {
    const r = rowLoss(b, a.kind, i);
    if (perSample) {
      b.h[lo + i] = a.scale * r.loss;
      b.h[co + i] = r.correct;
    } else {
      lossSum += r.loss;
      correctSum += r.correct;
    }
  }
  if (!perSample) {
    b.h[lo] = a.scale * (a.reduction === 'mean' ? lossSum / rows : lossSum);
    b.h[co] = correctSum;
  }
  return [loss.info, correct.info];
}

/**
 * PoisonlabLossGrad for 'wasm': d(loss)/d(logits), given dy of the loss output ([B] for
 * reduction 'none', else a scalar). Cross-entropy: softmax(z_i) - onehot(y_i); logistic:
 * -s_i sigmoid(-s_i z_i); times scale, dy_i (or dy / B for 'mean') and the sign of the negation.
 */
export function lossGradKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const a = args.attrs as unknown as LossAttrs;
  const { logits, labels, dy } = args.inputs;
  if (dy.dtype !== 'float32') throw new Error(`loss gradient: dy must be float32, got ${dy.dtype}`);
  const out = makeFloatOutput(be, [...logits.shape]);
  const b = batchOf(be, logits, labels, a);
  const { h, sign, k } = b;
  const o = out.off >> 2;
  const d = offsetOf(be, dy) >> 2;
  const perSample = a.reduction === 'none';
  const base = a.scale * sign * (a.reduction === 'mean' ? 1 / b.rows : 1);
  for (let i = 0; i < b.rows; i++) {
    const w = base * h[d + (perSample ? i : 0)]!;
    const y = b.label(i);
    if (a.kind === 'logistic') {
      const s = 2 * y - 1;
      const m = s * sign * h[b.z + i]!;
      h[o + i] = w * (-s / (1 + Math.exp(m)));
      continue;
    }
    const z = b.z + i * k;
    let max = sign * h[z]!;
    for (let j = 1; j < k; j++) max = Math.max(max, sign * h[z + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(sign * h[z + j]! - max);
    for (let j = 0; j < k; j++) {
      const p = Math.exp(sign * h[z + j]! - max) / sum;
      h[o + i * k + j] = w * (j === y ? p - 1 : p);
    }
  }
  return out.info;
}
