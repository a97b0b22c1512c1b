import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { PoisonlabError } from '../util/errors.js';
import { projectKernelNames, registerProjectKernels } from './kernels/register.js';
import { shipped } from './kernels/state.js';
import { loadNative, type NativeAddon, nativeLoadError } from './native.js';
import { nativeOps } from './native-ops.js';
import { wasmOps } from './wasm-ops.js';

export {
  availableBytes,
  checkMemory,
  checkTrainingMemory,
  TRAINING_COPIES,
  trainingStateBytes,
  WASM_HEAP_LIMIT_BYTES,
} from './memory.js';

/** Which compute backend poisonlab runs on. */
export interface BackendInfo {
  /** tfjs backend name: 'wasm' or 'cpu'. */
  backend: string;
  /** Whether the native addon runs the project's kernels. */
  native: boolean;
  /** Threads of the addon's matrix products (native only). */
  blasThreads?: number;
  /** The addon's matrix product (native only), e.g. 'own packed AVX-512 (8x32)' or 'OpenBLAS 0.3.21 Haswell'. */
  gemm?: string;
  /** Kernels the project registered over the backend's own. */
  kernels: string[];
  /** Why the addon is not used, when it is not. */
  note?: string;
}

export type BackendPreference = 'auto' | 'native' | 'wasm' | 'cpu';
const PREFERENCES: BackendPreference[] = ['auto', 'native', 'wasm', 'cpu'];

let info: BackendInfo | undefined;
let resolvedPreference: BackendPreference | undefined;
let addon: NativeAddon | null = null;
let noteShown = false;

/** Resolves the preference: POISONLAB_BACKEND overrides opts.prefer; POISONLAB_NATIVE=0 turns 'auto' into 'wasm'. */
function resolvePreference(prefer: BackendPreference | undefined): BackendPreference {
  const env = process.env.POISONLAB_BACKEND;
  const choice = (env && env.length > 0 ? env : (prefer ?? 'auto')) as BackendPreference;
  if (!PREFERENCES.includes(choice))
    throw new PoisonlabError(
      `${env ? 'POISONLAB_BACKEND' : 'backend'}: expected one of ${PREFERENCES.join(', ')}, got '${choice}'`,
    );
  if (choice === 'auto' && process.env.POISONLAB_NATIVE === '0') return 'wasm';
  return choice;
}

/**
 * Selects and prepares the compute backend; idempotent (a repeated call with the same
 * preference returns the same info). 'auto' = tfjs wasm + the project's kernels + the native
 * addon when it loads (a note on stderr, unless quiet, when it does not);
 * 'native' = the same but fails when the addon is missing; 'wasm' = pure wasm kernels;
 * 'cpu' = tfjs's plain JS backend (slow; the reference for tests).
 */
export async function initBackend(
  opts: { prefer?: BackendPreference; quiet?: boolean } = {},
): Promise<BackendInfo> {
  const prefer = resolvePreference(opts.prefer);
  if (info && prefer === resolvedPreference && tf.getBackend() === info.backend) return info;
  if (prefer === 'cpu') {
    await tf.setBackend('cpu');
    info = { backend: 'cpu', native: false, kernels: [] };
    resolvedPreference = prefer;
    return info;
  }
  if (!(await tf.setBackend('wasm'))) throw new PoisonlabError('wasm backend: tfjs could not initialise it');
  let note: string | undefined;
  addon = null;
  if (prefer !== 'wasm') {
    addon = loadNative();
    if (!addon) {
      note = `native addon unavailable: ${nativeLoadError()}; running on pure wasm`;
      if (prefer === 'native') throw new PoisonlabError(`backend native: ${nativeLoadError()}`);
    }
  } else note = 'native addon disabled (POISONLAB_NATIVE=0 or backend wasm)';
  if (addon) {
    addon.setThreads(Number(process.env.POISONLAB_THREADS) || availableParallelism());
    selectGemm(addon);
  }
  registerWithOps();
  info = {
    backend: 'wasm',
    native: addon !== null,
    ...(addon ? { blasThreads: addon.getThreads(), gemm: addon.gemm() } : {}),
    kernels: projectKernelNames(),
    ...(note ? { note } : {}),
  };
  resolvedPreference = prefer;
  if (note && prefer === 'auto' && !opts.quiet && !noteShown) {
    process.stderr.write(`poisonlab: ${note}\n`);
    noteShown = true;
  }
  return info;
}

/**
 * Applies POISONLAB_GEMM (auto, own, or one of the addon's gemmChoices(): own-avx512, own-avx2,
 * own-portable, openblas...) to the addon's matrix product; unset or empty means auto.
 */
function selectGemm(native: NativeAddon): void {
  const want = process.env.POISONLAB_GEMM;
  if (!want) return;
  const known = ['auto', 'own', ...native.gemmChoices()];
  if (!known.includes(want))
    throw new PoisonlabError(
      `POISONLAB_GEMM: expected one of ${known.join(', ')} (this build on this CPU), got '${want}'`,
    );
  native.gemm(want);
}

function registerWithOps(): void {
  // the shipped BatchMatMul is captured by the first registration, before ours replaces it
  const shippedMatMul = () => {
    const k = shipped.get('BatchMatMul') ?? tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
    if (!k) throw new Error('wasm backend has no BatchMatMul kernel');
    return k;
  };
  if (addon) registerProjectKernels(nativeOps(addon));
  else {
    // register first (captures the shipped matmul), then select the wasm ops built on it
    registerProjectKernels(wasmOps((a) => shippedMatMul()(a)));
  }
}

/**
 * What a run's numbers were computed with, one line (RunMetrics.arithmetic): the backend, the addon's matrix product
 * and its threads. Two runs with the same seed and the same line give the same numbers; another product sums in
 * another order. Undefined before initBackend.
 */
export function arithmeticLabel(): string | undefined {
  if (!info) return undefined;
  const gemm = info.native && info.gemm ? `; gemm ${info.gemm}; ${info.blasThreads ?? 1} thread(s)` : '';
  return `${info.backend}${info.native ? ' + native' : ''}${gemm}`;
}

/** The current backend info, or undefined before initBackend. */
export function backendInfo(): BackendInfo | undefined {
  return info;
}

/**
 * For tests and benchmarks: switch the project's wasm kernels between the native addon and
 * the pure-wasm path in this process. Returns whether native is now in use.
 */
export function setNativeEnabled(enabled: boolean): boolean {
  if (info?.backend !== 'wasm') throw new Error('setNativeEnabled: call initBackend() with wasm first');
  addon = enabled ? loadNative() : null;
  registerWithOps();
  info = {
    ...info,
    native: addon !== null,
    blasThreads: addon ? addon.getThreads() : undefined,
    gemm: addon ? addon.gemm() : undefined,
    note: addon ? undefined : 'native addon disabled',
  };
  return addon !== null;
}
