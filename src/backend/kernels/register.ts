import * as tf from '@tensorflow/tfjs';
import {
  LOSS_GRAD_KERNEL,
  LOSS_KERNEL,
  lossGradConfig,
  RELU_GRAD_KERNEL,
  reluGradConfig,
  SGD_UPDATE_KERNEL,
} from '../fused-ops.js';
import type { HeapOps } from '../heap-ops.js';
import { conv2dBiasGradConfig, denseBiasGradConfig } from '../layer-ops.js';
import { addKernel } from './add.js';
import {
  conv2dBackpropFilterKernel,
  conv2dBackpropInputKernel,
  conv2dKernel,
  fusedConv2dKernel,
} from './conv.js';
import { CONV2D_BIAS, conv2dBiasKernel } from './conv-bias.js';
import { DENSE_BIAS, denseBiasKernel } from './dense-bias.js';
import { gatherKernel, unsortedSegmentSumKernel } from './gather.js';
import { identityKernel } from './identity.js';
import { lossGradKernel, lossKernel } from './loss.js';
import { batchMatMulKernel, fusedMatMulKernel } from './matmul.js';
import { maxPoolGradKernel, maxPoolKernel } from './pool.js';
import { meanKernel, sumKernel } from './reduce.js';
import { reluGradKernel } from './relu-grad.js';
import { sgdUpdateKernel } from './sgd-update.js';
import { sliceKernel } from './slice.js';
import { setHeapOps, shipped } from './state.js';

/** The project's kernels for backend 'wasm', by tfjs kernel name. */
const KERNELS: Record<string, tf.KernelFunc> = {
  Add: addKernel as tf.KernelFunc,
  Identity: identityKernel as tf.KernelFunc,
  BatchMatMul: batchMatMulKernel as tf.KernelFunc,
  _FusedMatMul: fusedMatMulKernel as tf.KernelFunc,
  Conv2D: conv2dKernel as tf.KernelFunc,
  FusedConv2D: fusedConv2dKernel as tf.KernelFunc,
  [CONV2D_BIAS]: conv2dBiasKernel as tf.KernelFunc,
  [DENSE_BIAS]: denseBiasKernel as tf.KernelFunc,
  Conv2DBackpropInput: conv2dBackpropInputKernel as tf.KernelFunc,
  Conv2DBackpropFilter: conv2dBackpropFilterKernel as tf.KernelFunc,
  MaxPool: maxPoolKernel as tf.KernelFunc,
  MaxPoolGrad: maxPoolGradKernel as tf.KernelFunc,
  Sum: sumKernel as tf.KernelFunc,
  Mean: meanKernel as tf.KernelFunc,
  Slice: sliceKernel as tf.KernelFunc,
  GatherV2: gatherKernel as tf.KernelFunc,
  UnsortedSegmentSum: unsortedSegmentSumKernel as tf.KernelFunc,
  // the project's own kernels (no shipped counterpart; see fused-ops.ts)
  [LOSS_KERNEL]: lossKernel as tf.KernelFunc,
  [LOSS_GRAD_KERNEL]: lossGradKernel as tf.KernelFunc,
  [SGD_UPDATE_KERNEL]: sgdUpdateKernel as tf.KernelFunc,
  [RELU_GRAD_KERNEL]: reluGradKernel as tf.KernelFunc,
};

/** Shipped kernels our fallbacks call (kept even though they are not replaced). */
const DELEGATES = ['Add', 'Prelu'];

let registered = false;

/** Names of the kernels the project registers over the wasm backend's own. */
export function projectKernelNames(): string[] {
  return Object.keys(KERNELS);
}

/**
 * Registers the project's kernels for backend 'wasm' over the shipped ones (keeping the
 * shipped ones for delegation) and the gradients of the project's kernels, once per process, and
 * selects `ops` as their primitives. The wasm backend must already be initialised
 * (tf.setBackend('wasm')). This is the only place the project changes tfjs's registries: importing
 * the package changes nothing, and tfjs's own Relu gradient keeps running on every other backend.
 */
export function registerProjectKernels(ops: HeapOps): void {
  setHeapOps(ops);
  if (registered) return;
  for (const name of [...Object.keys(KERNELS), ...DELEGATES]) {
    const k = tf.getKernel(name, 'wasm');
    if (k) shipped.set(name, k.kernelFunc);
  }
  // (the project's own kernel names, such as PoisonlabConv2DBias, have no shipped version)
  for (const [name, kernelFunc] of Object.entries(KERNELS)) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  }
  tf.registerGradient(lossGradConfig);
  tf.registerGradient(conv2dBiasGradConfig);
  tf.registerGradient(denseBiasGradConfig);
  // over tfjs's own Relu gradient, which it calls on every backend without RELU_GRAD_KERNEL
  tf.registerGradient(reluGradConfig(tf.getGradient('Relu')));
  registered = true;
}
