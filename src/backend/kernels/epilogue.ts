import * as tf from '@tensorflow/tfjs';
import { offsetOf, type WasmBackend } from '../heap.js';
import { ACTIVATION_CODES } from '../window-geom.js';
import { heapOps, runShipped } from './state.js';

/** The fused-kernel activations tfjs knows. */
export type FusedActivation = keyof typeof ACTIVATION_CODES;

/**
 * out = activation(out + bias), the epilogue of _FusedMatMul and FusedConv2D, for `out`
 * viewed as [rows, cols] (cols = last dimension). Fast in place when bias has `cols` values
 * (or none) and prelu weights have 1 or `cols`; any other broadcast goes through the shipped
 * Add / Prelu kernels. Returns the (possibly new) output; the input is disposed if replaced.
 */
export function applyEpilogue(
  be: WasmBackend,
  out: tf.TensorInfo,
  cols: number,
  bias: tf.TensorInfo | undefined,
  preluWeights: tf.TensorInfo | undefined,
  activation: string | undefined,
  leakyreluAlpha: number | undefined,
): tf.TensorInfo {
  const act = (activation ?? 'linear') as FusedActivation;
  const code = ACTIVATION_CODES[act];
  if (code === undefined) throw new Error(`fused kernel: unknown activation '${activation}'`);
  const rows = cols === 0 ? 0 : tf.util.sizeFromShape(out.shape) / cols;
  let biasOff = -1;
  if (bias) {
    if (tf.util.sizeFromShape(bias.shape) === cols) biasOff = offsetOf(be, bias);
    else {
      const sum = runShipped('Add', { inputs: { a: out, b: bias }, backend: be, attrs: {} });
      be.disposeData(out.dataId);
      out = sum;
    }
  }
  let preluOff = -1;
  let preluLen = 1;
  if (act === 'prelu') {
    if (!preluWeights) throw new Error('fused kernel: prelu activation without weights');
    preluLen = tf.util.sizeFromShape(preluWeights.shape);
    if (preluLen !== 1 && preluLen !== cols) {
      // general broadcast: bias first (in place), then the shipped Prelu
      heapOps().biasAct(be, offsetOf(be, out), rows, cols, biasOff, ACTIVATION_CODES.linear, 0, -1, 1);
      const y = runShipped('Prelu', { inputs: { x: out, alpha: preluWeights }, backend: be, attrs: {} });
      be.disposeData(out.dataId);
      return y;
    }
    preluOff = offsetOf(be, preluWeights);
  }
  if (biasOff < 0 && code === ACTIVATION_CODES.linear) return out;
  heapOps().biasAct(
    be,
    offsetOf(be, out),
    rows,
    cols,
    biasOff,
    code,
    leakyreluAlpha ?? 0.2,
    preluOff,
    preluLen,
  );
  return out;
}

/**
 * out[r, j] = act(out[r, j] + bias[j]) in place over a [rows, cols] output, act relu or the identity,
 * bias a vector of `cols` values or none: the epilogue of the project's one-kernel layers.
 */
export function biasRelu(
  be: WasmBackend,
  out: number,
  rows: number,
  cols: number,
  bias: tf.TensorInfo | undefined,
  relu: boolean,
): void {
  if (!bias && !relu) return;
  const act = relu ? ACTIVATION_CODES.relu : ACTIVATION_CODES.linear;
  heapOps().biasAct(be, out, rows, cols, bias ? offsetOf(be, bias) : -1, act, 0, -1, 1);
}
