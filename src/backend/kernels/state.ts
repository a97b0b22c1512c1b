import type * as tf from '@tensorflow/tfjs';
import type { HeapOps } from '../heap-ops.js';

/** Arguments of a kernel function; inputs the kernel requires are present. */
export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** The operations the project's kernels currently run on (native or pure wasm). */
let current: HeapOps | undefined;
/** The wasm backend's own kernels that ours replace, kept to delegate cases we do not cover. */
export const shipped = new Map<string, tf.KernelFunc>();

/** Selects the primitive operations (native or wasm) the kernels use from now on. */
export function setHeapOps(ops: HeapOps): void {
  current = ops;
}

/** The primitive operations in use; throws if the kernels were never set up. */
export function heapOps(): HeapOps {
  if (!current) throw new Error('poisonlab backend kernels used before initBackend()');
  return current;
}

/** Runs a shipped wasm kernel (for cases the project's kernels delegate). */
export function runShipped(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const k = shipped.get(name);
  if (!k) throw new Error(`the wasm backend has no ${name} kernel for this case`);
  return k(args) as tf.TensorInfo;
}

/** Largest im2col scratch matrix, in floats (64 MiB); convolutions are done in batch chunks below it. */
export const COL_CHUNK_FLOATS = 16 * 1024 * 1024;

/**
 * Whether convolutions with few output channels use the direct (im2col-free) native kernels.
 * POISONLAB_DIRECT_CONV=0 turns them off (to compare both paths); tests switch it both ways.
 */
let directConv = process.env.POISONLAB_DIRECT_CONV !== '0';
export function setDirectConv(enabled: boolean): void {
  directConv = enabled;
}
export function directConvEnabled(): boolean {
  return directConv;
}
