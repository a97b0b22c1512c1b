import { heapFree, type WasmBackend } from '../heap.js';
import type { WindowGeom } from '../window-geom.js';

// A training step computes im2col(x) twice for every conv: in the forward (y = col . W) and again
// in the filter gradient (dW = col^T . dy). The forward keeps its col matrix here, keyed by the
// input's dataId (tfjs never changes the data under a dataId; the one writer in place, the SGD
// update, calls forgetCol) and the geometry, and the filter
// gradient takes it back instead of rebuilding it. Entries are few and bounded in bytes; the
// oldest go first. Only whole-batch matrices (one chunk) are kept.

interface Entry {
  dataId: object;
  key: string;
  off: number;
  bytes: number;
}

/** At most this much wasm heap is held by kept col matrices. */
const MAX_BYTES = 96 * 2 ** 20;
const MAX_ENTRIES = 6;

let entries: Entry[] = [];
let owner: WasmBackend | undefined;

function geomKey(g: WindowGeom): string {
  return `${g.n},${g.h},${g.w},${g.c},${g.kh},${g.kw},${g.sh},${g.sw},${g.padTop},${g.padLeft},${g.oh},${g.ow}`;
}

/** Frees every kept matrix (also used when the backend changes). */
export function clearColCache(): void {
  if (owner) for (const e of entries) heapFree(owner, e.off);
  entries = [];
}

/**
 * Keeps `off` (a heapMalloc'd col matrix of `bytes` for input `dataId` and geometry `g`), replacing
 * an entry of the same geometry. Returns false, keeping nothing, when it is too large: the caller frees it.
 */
export function keepCol(be: WasmBackend, dataId: object, g: WindowGeom, off: number, bytes: number): boolean {
  if (bytes > MAX_BYTES / 2) return false;
  if (owner !== be) {
    clearColCache();
    owner = be;
  }
  const key = geomKey(g);
  const stale = entries.filter((e) => e.key === key);
  for (const e of stale) heapFree(be, e.off);
  entries = entries.filter((e) => e.key !== key);
  entries.push({ dataId, key, off, bytes });
  let total = entries.reduce((a, e) => a + e.bytes, 0);
  while (entries.length > MAX_ENTRIES || total > MAX_BYTES) {
    const old = entries.shift()!;
    heapFree(be, old.off);
    total -= old.bytes;
  }
  return true;
}

/**
 * Takes the kept col matrix of input `dataId` with geometry `g` out of the cache (the caller frees
 * it with heapFree), or returns null.
 */
export function takeCol(be: WasmBackend, dataId: object, g: WindowGeom): number | null {
  if (owner !== be) return null;
  const key = geomKey(g);
  const i = entries.findIndex((e) => e.dataId === dataId && e.key === key);
  if (i < 0) return null;
  const [e] = entries.splice(i, 1);
  return e!.off;
}

/** Frees the kept col matrices of input `dataId`: its data is about to change in place. */
export function forgetCol(be: WasmBackend, dataId: object): void {
  if (owner !== be) return;
  for (const e of entries) if (e.dataId === dataId) heapFree(be, e.off);
  entries = entries.filter((e) => e.dataId !== dataId);
}
