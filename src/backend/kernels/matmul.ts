import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { applyEpilogue } from './epilogue.js';
import { heapOps, type KernelArgs, runShipped } from './state.js';

interface MatMulArgs {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * Batched C = op(A) op(B) on the heap (one gemm per batch entry). Returns null for cases
 * it does not cover (non-float32, batch broadcasting other than equal shapes or batch 1).
 */
export function batchMatMulOnHeap(
  be: WasmBackend,
  { a, b, transposeA, transposeB }: MatMulArgs,
): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb)
    throw new Error(`matMul: inner dimensions ${k} and ${kb} of shapes [${a.shape}] and [${b.shape}] differ`);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!sameOuter && batchA !== 1 && batchB !== 1) return null;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  const out = makeFloatOutput(be, [...outer, m, n]);
  const ao = offsetOf(be, a);
  const bo = offsetOf(be, b);
  const ops = heapOps();
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? 0 : i;
    const bi = batchB === 1 ? 0 : i;
    ops.gemm(
      be,
      transposeA,
      transposeB,
      m,
      n,
      k,
      ao + ai * m * k * 4,
      bo + bi * k * n * 4,
      out.off + i * m * n * 4,
      0,
    );
  }
  return out.info;
}

/** BatchMatMul for 'wasm': fast for every transpose combination. */
export function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { a, b } = args.inputs;
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  return (
    batchMatMulOnHeap(be, { a, b, transposeA, transposeB }) ??
    runShipped('BatchMatMul', { inputs: args.inputs, backend: be, attrs: args.attrs ?? {} })
  );
}

/** _FusedMatMul for 'wasm': matmul, then the correct bias + activation epilogue. */
export function fusedMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { a, b } = args.inputs;
  const { bias, preluActivationWeights } = args.inputs as Partial<typeof args.inputs>;
  const attrs = args.attrs ?? {};
  const transposeA = Boolean(attrs.transposeA);
  const transposeB = Boolean(attrs.transposeB);
  const out = batchMatMulOnHeap(be, { a, b, transposeA, transposeB });
  if (!out) throw new Error(`_FusedMatMul: unsupported shapes [${a.shape}] x [${b.shape}] on wasm`);
  const cols = out.shape[out.shape.length - 1];
  return applyEpilogue(
    be,
    out,
    cols,
    bias,
    preluActivationWeights,
    attrs.activation as string | undefined,
    attrs.leakyreluAlpha as number | undefined,
  );
}
