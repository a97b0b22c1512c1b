import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { PoisonlabError } from '../util/errors.js';

/** Views of the tfjs wasm backend's heap. Fetch them again after any allocation: the heap can grow. */
export type WasmBackend = BackendWasm;

/** Byte offset of a tensor's data on the wasm heap. */
export function offsetOf(be: WasmBackend, t: tf.TensorInfo): number {
  const data = be.dataIdMap.get(t.dataId);
  if (!data) throw new Error(`tensor ${t.dataId} is not on the wasm backend`);
  return data.memoryOffset;
}

/** The heap's current ArrayBuffer (changes when the heap grows). */
export function heapBuffer(be: WasmBackend): ArrayBuffer {
  return be.wasm.HEAPU8.buffer as ArrayBuffer;
}

/** A Float32Array over the whole current heap; index = byteOffset / 4. */
export function heapF32(be: WasmBackend): Float32Array {
  return new Float32Array(heapBuffer(be));
}

/** Allocates scratch bytes on the wasm heap; pair with `heapFree`. */
export function heapMalloc(be: WasmBackend, bytes: number): number {
  const off = be.wasm._malloc(Math.max(bytes, 4)) >>> 0;
  if (off === 0)
    throw new PoisonlabError(
      `wasm heap: could not allocate ${(bytes / 2 ** 20).toFixed(1)} MiB of scratch: the 4 GiB heap is full (use a smaller width or batch size)`,
    );
  return off;
}

/** Frees scratch memory from `heapMalloc`. */
export function heapFree(be: WasmBackend, off: number): void {
  be.wasm._free(off);
}

/** A fresh float32 output tensor on the wasm heap and its byte offset. */
export function makeFloatOutput(be: WasmBackend, shape: number[]): { info: tf.TensorInfo; off: number } {
  const info = be.makeOutput(shape, 'float32');
  return { info, off: offsetOf(be, info) };
}
