import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { offsetOf, type WasmBackend } from '../../src/backend/heap.js';
import type { HeapOps } from '../../src/backend/heap-ops.js';
import { initBackend } from '../../src/backend/index.js';
import { sgdJs } from '../../src/backend/js-loops.js';
import { shipped } from '../../src/backend/kernels/state.js';
import { loadNative } from '../../src/backend/native.js';
import { nativeOps } from '../../src/backend/native-ops.js';
import { setSimdEnabled } from '../../src/backend/simd.js';
import { wasmOps } from '../../src/backend/wasm-ops.js';
import { geomFromInfo } from '../../src/backend/window-geom.js';
import { Rng } from '../../src/util/rng.js';
import { randn, relError } from './compare.js';

const addon = loadNative();
let sides: HeapOps[] = [];

before(async () => {
  await initBackend({ prefer: 'wasm', quiet: true });
  const matMul = shipped.get('BatchMatMul');
  assert.ok(matMul, 'the shipped BatchMatMul was kept');
  sides = [wasmOps(matMul), ...(addon ? [nativeOps(addon)] : [])];
});

const be = () => tf.backend() as WasmBackend;

/** Floats after an output that an op must leave alone (a kernel that stores whole vectors must not run past it). */
const GUARD = 64;
const SENTINEL = -12345.5;

/**
 * Runs `op` (named `who`) on fresh wasm tensors of `inputs` and a zeroed output of `outShape`, followed by
 * GUARD sentinel floats it must not touch; returns the output's values, or the first input's when `outShape`
 * is 'in place'.
 */
function onHeap(
  inputs: { values: Float32Array; shape: number[] }[],
  outShape: number[] | 'in place',
  op: (offsets: number[], out: number) => void,
  who = 'the op',
): Float32Array {
  const ts = inputs.map((d) => tf.tensor(d.values, d.shape));
  const size = outShape === 'in place' ? 0 : outShape.reduce((a, b) => a * b, 1);
  const out = outShape === 'in place' ? ts[0]! : tf.concat([tf.zeros([size]), tf.fill([GUARD], SENTINEL)]);
  op(
    ts.map((t) => offsetOf(be(), t)),
    offsetOf(be(), out),
  );
  const values = out.dataSync().slice() as Float32Array;
  tf.dispose([...ts, out]);
  if (outShape === 'in place') return values;
  const overwritten = values.subarray(size).findIndex((v) => v !== SENTINEL);
  assert.equal(overwritten, -1, `${who} wrote past the end of its output (float ${overwritten} after it)`);
  return values.slice(0, size);
}

/** `f` on tfjs's cpu backend. */
function onCpu(f: () => tf.Tensor): Float32Array {
  tf.setBackend('cpu');
  try {
    return tf.tidy(() => f().dataSync().slice() as Float32Array);
  } finally {
    tf.setBackend('wasm');
  }
}

test('both sides implement every heap operation', () => {
  const members = (o: HeapOps) => Object.keys(o).sort();
  const wasm = sides[0]!;
  assert.ok(members(wasm).length >= 15);
  for (const side of sides) assert.deepEqual(members(side), members(wasm), side.name);
  assert.deepEqual(Object.keys(wasm.direct).sort(), ['filterGrad', 'forward', 'inputGrad']);
});

describe('direct convolutions of each side against tfjs cpu (values and both gradients)', () => {
  const geometries = [
    { n: 2, h: 7, w: 6, c: 3, k: [3, 3], stride: 1, pad: 'same', cout: 4 },
    { n: 3, h: 9, w: 8, c: 2, k: [5, 3], stride: 2, pad: 'valid', cout: 5 },
    { n: 1, h: 6, w: 6, c: 1, k: [2, 2], stride: 2, pad: 'same', cout: 3 },
    // 1 and 2 output channels: an 8-float store reaches several pixels ahead; 24 images: both threads
    { n: 24, h: 9, w: 9, c: 2, k: [3, 3], stride: 1, pad: 'valid', cout: 1 },
    { n: 24, h: 8, w: 7, c: 3, k: [3, 3], stride: 1, pad: 'same', cout: 2 },
    { n: 2, h: 6, w: 13, c: 2, k: [1, 3], stride: 1, pad: 'valid', cout: 6 },
  ] as const;
  for (const s of geometries)
    test(`[${s.n}, ${s.h}, ${s.w}, ${s.c}] * [${s.k}, ${s.cout}] stride ${s.stride} ${s.pad}`, () => {
      const rng = new Rng(s.h);
      const info = tf.backend_util.computeConv2DInfo(
        [s.n, s.h, s.w, s.c],
        [s.k[0], s.k[1], s.c, s.cout],
        s.stride,
        1,
        s.pad,
      );
      const g = geomFromInfo(info);
      const x = randn(rng, [s.n, s.h, s.w, s.c]);
      const w = randn(rng, [s.k[0], s.k[1], s.c, s.cout]);
      const bias = randn(rng, [s.cout]);
      const dy = randn(rng, [s.n, g.oh, g.ow, s.cout]);
      const t = (d: { values: Float32Array; shape: number[] }) => tf.tensor(d.values, d.shape);
      const conv = (u: tf.Tensor, v: tf.Tensor) =>
        tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, s.stride, s.pad);
      const wantY = onCpu(() => tf.relu(tf.add(conv(t(x), t(w)), t(bias))));
      const wantDw = onCpu(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(conv(t(x), v), t(dy))))(t(w)));
      const wantDx = onCpu(() => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(conv(u, t(w)), t(dy))))(t(x)));
      for (const side of sides) {
        const y = onHeap(
          [x, w, bias],
          dy.shape,
          ([xo, wo, bo], out) => side.direct.forward(be(), xo!, wo!, bo!, true, out, s.cout, g),
          `${side.name} forward`,
        );
        const dw = onHeap(
          [x, dy],
          w.shape,
          ([xo, dyo], out) => side.direct.filterGrad(be(), xo!, dyo!, out, s.cout, g),
          `${side.name} filter gradient`,
        );
        const dx = onHeap(
          [dy, w],
          x.shape,
          ([dyo, wo], out) => side.direct.inputGrad(be(), dyo!, wo!, out, s.cout, g),
          `${side.name} input gradient`,
        );
        assert.ok(relError(y, wantY) <= 1e-5, `${side.name} forward: ${relError(y, wantY)}`);
        assert.ok(relError(dw, wantDw) <= 1e-5, `${side.name} filter gradient: ${relError(dw, wantDw)}`);
        assert.ok(relError(dx, wantDx) <= 1e-5, `${side.name} input gradient: ${relError(dx, wantDx)}`);
      }
    });
});

test("each side's SGD update gives the JS loop's bits, with and without SIMD", () => {
  const rng = new Rng(2);
  const n = 1001;
  const [w, g, v] = [randn(rng, [n]), randn(rng, [n]), randn(rng, [n])];
  for (const settings of [
    { lr: 0.1, momentum: 0, weightDecay: 0 },
    { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 },
  ]) {
    const h = new Float32Array(5 * n);
    h.set(w.values, 0);
    h.set(g.values, n);
    h.set(v.values, 2 * n);
    sgdJs(h, { outW: 12 * n, outV: 16 * n, w: 0, g: 4 * n, v: 8 * n, n, ...settings });
    for (const simd of [true, false]) {
      setSimdEnabled(simd);
      try {
        for (const side of sides) {
          // in place over a copy of w, as the optimiser runs it
          const got = onHeap([w, g, v], 'in place', ([wo, go, vo]) =>
            side.sgdUpdate(be(), { outW: wo!, outV: vo!, w: wo!, g: go!, v: vo!, n, ...settings }),
          );
          assert.deepEqual(got, h.slice(3 * n, 4 * n), `${side.name}, SIMD ${simd}`);
        }
      } finally {
        setSimdEnabled(true);
      }
    }
  }
});
