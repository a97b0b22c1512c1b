import type * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from '../heap.js';
import { type KernelArgs, runShipped } from './state.js';

/**
 * Identity for 'wasm' without a copy: the output shares the input's data (a reference count, as
 * tfjs's cpu and webgl backends do; tensors are never written in place). The shipped kernel copies
 * the whole tensor, and the tape and tfjs-layers call it many times per training step.
 */
export function identityKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x } = args.inputs;
  if (x.dtype === 'string') return runShipped('Identity', { inputs: args.inputs, backend: be, attrs: {} });
  be.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}
