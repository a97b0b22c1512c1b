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
 * The memory guard's cost model (the only one): copies of the parameters that training holds at once, namely the
 * weights, their gradients, the momentum buffer, the best-validation copy kept for early stopping, and one
 * temporary of the update. Activations are not counted: a batch's activations are small next to a model large
 * enough to reach the limit (mnist-cnn at width 5e6 has 1.6e9 parameters; a batch of 128 activates 6.4e8 floats
 * in its widest layer), and they are freed batch by batch. This model replaced a second one (3 x parameters +
 * 3 x activations) that ran beside it but was always given zero activations, so it undercounted the momentum
 * buffer and the early-stopping copy that every sweep run keeps.
 */
export const TRAINING_COPIES = 5;

/** Bytes that training a model with `params` float32 parameters needs for its parameter state. */
export function trainingStateBytes(params: number): number {
  return params * 4 * TRAINING_COPIES;
}

/**
 * Refuse, before anything is allocated, a model whose training state cannot fit: on wasm, what the heap has
 * free (4 GiB less live tensors and a reserve); on other backends, the 4 GiB that the wasm backend could
 * hold at most, so that a model that trains in a test on the cpu backend also trains in a sweep.
 */
export function checkTrainingMemory(what: string, params: number): void {
  const need = trainingStateBytes(params);
  const free = Math.min(availableBytes(), WASM_HEAP_LIMIT_BYTES);
  if (!(need <= free))
    throw new PoisonlabError(
      `${what}: ${params.toLocaleString('en-US')} parameters need about ${gib(need)} GiB with training state ` +
        `(${TRAINING_COPIES} copies), but only ${gib(free)} GiB of the 4 GiB wasm heap is free; use a smaller width`,
    );
}
