import { check } from '../util/errors.js';

/** The wasm backend's heap cap: 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * Copies of the parameters that training holds at once: the weights, their gradients, the momentum
 * buffer, the best-validation copy kept for early stopping, and one temporary of the update.
 */
export const TRAINING_COPIES = 5;

/** Bytes that training a model with `params` float32 parameters needs for its parameter state. */
export function trainingStateBytes(params: number): number {
  return params * 4 * TRAINING_COPIES;
}

/**
 * Refuse, before anything is allocated, a model whose parameters (with training state) cannot fit
 * the 4 GiB wasm heap. Activations are not counted; they are small next to a model that is this large.
 */
export function checkModelMemory(what: string, params: number, heapBytes = WASM_HEAP_BYTES): void {
  const need = trainingStateBytes(params);
  check(
    need <= heapBytes,
    () =>
      `${what}: ${params.toLocaleString('en-US')} parameters need about ${gib(need)} GiB with training state, ` +
      `expected at most ${gib(heapBytes)} GiB (the wasm heap); use a smaller width`,
  );
}

function gib(bytes: number): string {
  return (bytes / 1024 ** 3).toFixed(1);
}
