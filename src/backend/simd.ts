import type { WasmBackend } from './heap.js';
import { type SgdArgs, type SgdUpdate, sgdArgs } from './heap-ops.js';

/**
 * Elementwise loops in WebAssembly SIMD that run on the tfjs wasm backend's own heap (its
 * WebAssembly.Memory is imported by a small module built here), for the per-step element passes
 * where a JS loop over a Float32Array is several times slower than wasm (the SGD update of a
 * 784 x 16384 weight matrix). All offsets are BYTE offsets of float32 arrays on the heap; each
 * loop runs four lanes at a time, then a scalar tail. The scalar and vector paths do the same
 * float32 operations in the same order, so the results are bit-identical to tfjs's
 * separate Multiply / Add / Sub kernels.
 */
export interface SimdLoops {
  /** The SGD update of SgdUpdate (heap-ops.ts). */
  sgd(u: SgdUpdate): void;
  /** out = x > 0 ? dy : 0 (the gradient of relu at x), n floats. */
  reluGrad(out: number, x: number, dy: number, n: number): void;
  /** out = a + b, n floats (out may be a or b). */
  add(out: number, a: number, b: number, n: number): void;
}

// ---- a minimal WebAssembly binary writer (just what the loops below need) ----

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  select: [0x1b],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  f32: (x: number) => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)],
  i32Add: [0x6a],
  i32And: [0x71],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  f32Gt: [0x5e],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v128Load = op.simd(0x00, 0, 0);
const v128Store = op.simd(0x0b, 0, 0);
const f32x4Splat = op.simd(0x13);
const f32x4Gt = op.simd(0x44);
const v128And = op.simd(0x4e);
const f32x4Add = op.simd(0xe4);
const f32x4Sub = op.simd(0xe5);
const f32x4Mul = op.simd(0xe6);

/** Per-element expressions of a loop body; `load` reads the array whose pointer is parameter p. */
type Expr =
  | { load: number }
  | { param: number }
  | { tmp: number }
  | { op: 'add' | 'sub' | 'mul'; a: Expr; b: Expr }
  | { op: 'ifPos'; a: Expr; b: Expr }; // a > 0 ? b : 0
type Stmt = { store: number; value: Expr } | { let: number; value: Expr };

interface LoopFn {
  name: string;
  /** Parameter types; the pointers' and n's are I32, float parameters F32. */
  params: number[];
  /** Index of the element-count parameter. */
  n: number;
  body: Stmt[];
  /** Number of temporaries the body uses. */
  temps: number;
}

/**
 * One function: a 4-lane loop over the elements, then a scalar loop for the n % 4 tail. Locals:
 * i (byte offset), end4, end, a v128 splat of every float parameter, then v128 and f32 temps.
 */
function loopFunction(fn: LoopFn): number[] {
  const np = fn.params.length;
  const floats = fn.params.map((t, i) => (t === F32 ? i : -1)).filter((i) => i >= 0);
  const iL = np;
  const end4L = np + 1;
  const endL = np + 2;
  const splatL = new Map(floats.map((p, k) => [p, np + 3 + k]));
  const vtmp0 = np + 3 + floats.length;
  const ftmp0 = vtmp0 + fn.temps;
  const locals = [
    [...uleb(3), I32],
    ...(floats.length + fn.temps > 0 ? [[...uleb(floats.length + fn.temps), V128]] : []),
    ...(fn.temps > 0 ? [[...uleb(fn.temps), F32]] : []),
  ];
  const addr = (p: number) => [...op.get(p), ...op.get(iL), ...op.i32Add];
  const expr = (e: Expr, lanes: boolean): number[] => {
    if ('load' in e) return [...addr(e.load), ...(lanes ? v128Load : op.f32Load)];
    if ('param' in e) return op.get(lanes ? splatL.get(e.param)! : e.param);
    if ('tmp' in e) return op.get((lanes ? vtmp0 : ftmp0) + e.tmp);
    const a = expr(e.a, lanes);
    const b = expr(e.b, lanes);
    switch (e.op) {
      case 'add':
        return [...a, ...b, ...(lanes ? f32x4Add : op.f32Add)];
      case 'sub':
        return [...a, ...b, ...(lanes ? f32x4Sub : op.f32Sub)];
      case 'mul':
        return [...a, ...b, ...(lanes ? f32x4Mul : op.f32Mul)];
      case 'ifPos':
        return lanes
          ? [...a, ...op.f32(0), ...f32x4Splat, ...f32x4Gt, ...b, ...v128And]
          : [...b, ...op.f32(0), ...a, ...op.f32(0), ...op.f32Gt, ...op.select];
    }
  };
  const body = (lanes: boolean) =>
    fn.body.flatMap((s) =>
      'store' in s
        ? [...addr(s.store), ...expr(s.value, lanes), ...(lanes ? v128Store : op.f32Store)]
        : [...expr(s.value, lanes), ...op.set((lanes ? vtmp0 : ftmp0) + s.let)],
    );
  const loop = (end: number, step: number, lanes: boolean) => [
    ...op.block,
    ...op.loop,
    ...op.get(iL),
    ...op.get(end),
    ...op.i32GeU,
    ...op.brIf(1),
    ...body(lanes),
    ...op.get(iL),
    ...op.i32(step),
    ...op.i32Add,
    ...op.set(iL),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  const code = [
    ...vec(locals),
    ...op.get(fn.n),
    ...op.i32(2),
    ...op.i32Shl,
    ...op.set(endL),
    ...op.get(fn.n),
    ...op.i32(-4),
    ...op.i32And,
    ...op.i32(2),
    ...op.i32Shl,
    ...op.set(end4L),
    ...floats.flatMap((p) => [...op.get(p), ...f32x4Splat, ...op.set(splatL.get(p)!)]),
    ...loop(end4L, 16, true),
    ...loop(endL, 4, false),
    ...op.end,
  ];
  return [...uleb(code.length), ...code];
}

// sgd(...SgdArgs): four variants, chosen by which terms are on
const SGD_PARAMS = [I32, I32, I32, I32, I32, I32, F32, F32, F32];
const [OUT_W, OUT_V, W, G, V, N, LR, MOM, WD] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

function sgdBody(decay: boolean, momentum: boolean): Stmt[] {
  const body: Stmt[] = [];
  let g: Expr = { load: G };
  if (decay) g = { op: 'add', a: g, b: { op: 'mul', a: { load: W }, b: { param: WD } } };
  if (momentum) {
    body.push({ let: 0, value: { op: 'add', a: { op: 'mul', a: { load: V }, b: { param: MOM } }, b: g } });
    body.push({ store: OUT_V, value: { tmp: 0 } });
    g = { tmp: 0 };
  }
  body.push({ store: OUT_W, value: { op: 'sub', a: { load: W }, b: { op: 'mul', a: g, b: { param: LR } } } });
  return body;
}

const FUNCTIONS: LoopFn[] = [
  { name: 'sgd', params: SGD_PARAMS, n: N, body: sgdBody(false, false), temps: 0 },
  { name: 'sgdWd', params: SGD_PARAMS, n: N, body: sgdBody(true, false), temps: 0 },
  { name: 'sgdMom', params: SGD_PARAMS, n: N, body: sgdBody(false, true), temps: 1 },
  { name: 'sgdWdMom', params: SGD_PARAMS, n: N, body: sgdBody(true, true), temps: 1 },
  // reluGrad(out, x, dy, n)
  {
    name: 'reluGrad',
    params: [I32, I32, I32, I32],
    n: 3,
    body: [{ store: 0, value: { op: 'ifPos', a: { load: 1 }, b: { load: 2 } } }],
    temps: 0,
  },
  // add(out, a, b, n)
  {
    name: 'add',
    params: [I32, I32, I32, I32],
    n: 3,
    body: [{ store: 0, value: { op: 'add', a: { load: 1 }, b: { load: 2 } } }],
    temps: 0,
  },
];

/** The module's bytes; it imports env.memory (shared when the backend's heap is). */
export function simdModuleBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  const types = FUNCTIONS.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0]);
  const memLimits = shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, ...memLimits]])),
    ...section(3, vec(FUNCTIONS.map((_, i) => uleb(i)))),
    ...section(7, vec(FUNCTIONS.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(FUNCTIONS.map(loopFunction))),
  ]);
}

type Exports = Record<'sgd' | 'sgdWd' | 'sgdMom' | 'sgdWdMom', (...args: SgdArgs) => void> &
  Pick<SimdLoops, 'reluGrad' | 'add'>;

const instances = new WeakMap<WebAssembly.Memory, SimdLoops | null>();

/** POISONLAB_SIMD=0 turns the SIMD loops off (the heap ops then run their JS loops); tests switch it both ways. */
let enabled = process.env.POISONLAB_SIMD !== '0';
export function setSimdEnabled(on: boolean): void {
  enabled = on;
}

/** The backend's WebAssembly.Memory (the heap), when its emscripten module exposes it. */
function memoryOf(be: WasmBackend): WebAssembly.Memory | undefined {
  const mod = be.wasm as unknown as { asm?: { memory?: unknown }; wasmMemory?: unknown };
  const m = mod.asm?.memory ?? mod.wasmMemory;
  return m instanceof WebAssembly.Memory ? m : undefined;
}

/**
 * The SIMD loops bound to `be`'s heap, or null when they are turned off or cannot be instantiated
 * there (no SIMD, or a heap this build cannot reach); the heap ops then run their JS loops. Built once
 * per heap.
 */
export function simdLoops(be: WasmBackend): SimdLoops | null {
  const memory = enabled ? memoryOf(be) : undefined;
  if (!memory) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  let loops: SimdLoops | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const mod = new WebAssembly.Module(simdModuleBytes(shared));
    const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Exports;
    const variants = [ex.sgd, ex.sgdWd, ex.sgdMom, ex.sgdWdMom] as const;
    loops = {
      sgd: (u) => variants[(u.weightDecay > 0 ? 1 : 0) + (u.momentum > 0 ? 2 : 0)]!(...sgdArgs(u)),
      reluGrad: ex.reluGrad,
      add: ex.add,
    };
  } catch {
    // no SIMD in this engine: the JS loops
  }
  instances.set(memory, loops);
  return loops;
}
