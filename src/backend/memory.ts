import * as tf from '@tensorflow/tfjs';
import { PoisonlabError } from '../util/errors.js';

/** The wasm heap's hard limit (wasm32 addresses 4 GiB). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 1024 ** 3;
/** Kept free for im2col scratch, temporaries of the optimiser and the allocator's overhead. */
export const HEAP_RESERVE_BYTES = 256 * 1024 ** 2;

const GIB = 1024 ** 3;
const gib = (b: number) => (b / GIB).toFixed(2);

/** Bytes the current backend could still allocate for new tensors (wasm: 4 GiB less live tensors and a reserve). */
export function availableBytes(): number {
  if (tf.getBackend() !== 'wasm') return Number.POSITIVE_INFINITY;
  return Math.max(0, WASM_HEAP_LIMIT_BYTES - HEAP_RESERVE_BYTES - tf.memory().numBytes);
}

/**
 * Throws a one-line PoisonlabError when `bytes` cannot fit on the wasm heap, BEFORE anything
 * is allocated. `what` names the thing (e.g. "mnist_cnn m=200000 batch 128").
 */
export function checkMemory(bytes: number, what: string): void {
  const free = availableBytes();
  if (!(bytes <= free))
    throw new PoisonlabError(
      `${what}: needs ${gib(bytes)} GiB of the wasm heap but only ${gib(free)} GiB of its 4 GiB limit is free` +
        ' (use a smaller width or batch size)',
    );
}

/**
 * Rough bytes to train a model with `numParams` parameters when one batch's activations
 * take `batchActivationsFloats` floats: weights, gradients and the update temporaries
 * (3 x params), activations and their gradients plus autograd's saved inputs (3 x activations).
 */
export function estimateTrainingBytes(numParams: number, batchActivationsFloats: number): number {
  return 4 * (3 * numParams + 3 * batchActivationsFloats);
}
