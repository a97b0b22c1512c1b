/**
 * Invariants of the availability poisons of issue 21 (OPS, AR, error-minimising noise, TAP): the budget holds per
 * sample, labels never change, pixels stay in [0, 1], and the same seed gives a byte-equal poison (another seed
 * another one where the attack is random). The literature checks are too slow for tests: docs/attacks.md.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arFilters,
  createAttack,
  describeParams,
  getAttackEntry,
  listAttacks,
  runArProcess,
  searchShortcutPixels,
} from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { mnistSlice, trainTinySurrogate } from './fixtures.js';

const D = 784;
const data = mnistSlice(300);

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/** max over samples of the l2 and l_inf norms of poisoned - clean, and whether every pixel is in [0, 1]. */
function norms(clean: Dataset, poisoned: Dataset): { l2: number; linf: number; inRange: boolean } {
  let l2 = 0;
  let linf = 0;
  let inRange = true;
  for (let i = 0; i < clean.y.length; i++) {
    let s = 0;
    for (let j = i * D; j < (i + 1) * D; j++) {
      const e = poisoned.x[j]! - clean.x[j]!;
      s += e * e;
      linf = Math.max(linf, Math.abs(e));
      if (!(poisoned.x[j]! >= 0 && poisoned.x[j]! <= 1)) inRange = false;
    }
    l2 = Math.max(l2, Math.sqrt(s));
  }
  return { l2, linf, inRange };
}

function labelsKept(clean: Dataset, poisoned: Dataset): boolean {
  return clean.y.every((c, i) => poisoned.y[i] === c);
}

test('the registry lists the four availability poisons with their aliases and parameters', () => {
  const names = listAttacks().map((e) => e.name);
  for (const n of ['one-pixel-shortcut', 'autoregressive', 'error-minimizing', 'adversarial-poisoning'])
    assert.ok(names.includes(n), n);
  assert.equal(getAttackEntry('ops').name, 'one-pixel-shortcut');
  assert.equal(getAttackEntry('AR').name, 'autoregressive');
  assert.equal(getAttackEntry('em').name, 'error-minimizing');
  assert.equal(getAttackEntry('tap').name, 'adversarial-poisoning');
  for (const n of ['autoregressive', 'error-minimizing', 'adversarial-poisoning'])
    assert.equal(getAttackEntry(n).kind, 'availability');
  const eps = describeParams(getAttackEntry('em').params).find((p) => p.name === 'eps')!;
  assert.equal(eps.default, 0.1);
  assert.match(eps.type, /number in \(0, 1\]/);
  assert.equal(getAttackEntry('tap').needs.surrogate, true);
  assert.equal(getAttackEntry('em').needs.surrogate, false);
  assert.throws(() => createAttack('ar', { eps: -1 }), PoisonlabError);
  assert.throws(() => createAttack('em', { scope: 'pixel' }), /scope/);
});

test('OPS: one pixel per image, the same per class, distinct between classes, labels kept, deterministic', async () => {
  const a = await createAttack('ops').poison(data);
  const b = await createAttack('ops').poison(data);
  assert.ok(sameBytes(a.dataset.x, b.dataset.x), 'OPS has no randomness');
  assert.ok(labelsKept(data, a.dataset));
  const pixels = searchShortcutPixels(data);
  const positions = new Set(pixels.map((p) => p.row * 28 + p.col));
  assert.equal(positions.size, 10, 'ten distinct positions');
  for (let i = 0; i < data.y.length; i++) {
    const at = pixels[data.y[i]!]!.row * 28 + pixels[data.y[i]!]!.col;
    for (let j = 0; j < D; j++) {
      if (j === at) assert.equal(a.dataset.x[i * D + j], pixels[data.y[i]!]!.colour[0]);
      else assert.equal(a.dataset.x[i * D + j], data.x[i * D + j], `sample ${i} pixel ${j}`);
    }
  }
  assert.ok(norms(data, a.dataset).inRange);
  // without distinct positions every class takes the first always-black border pixel
  const shared = searchShortcutPixels(data, false);
  assert.ok(shared.every((p) => p.row === 0 && p.col === 0 && p.colour[0] === 1 && p.variance === 0));
});

test('OPS on an RGB image picks a corner colour of the cube', () => {
  const rng = new Rng(3);
  const n = 40;
  const x = Float32Array.from({ length: n * 4 * 4 * 3 }, () => 0.4 + 0.2 * rng.uniform());
  const rgb: Dataset = {
    name: 'rgb',
    x,
    y: Int32Array.from({ length: n }, (_, i) => i % 2),
    sampleShape: [4, 4, 3],
    classNames: ['a', 'b'],
  };
  for (const p of searchShortcutPixels(rgb)) {
    assert.equal(p.colour.length, 3);
    assert.ok(p.colour.every((v) => v === 0 || v === 1));
  }
});

test('AR: l2 and l_inf budgets held, labels kept, pixels in [0, 1], seeded', async () => {
  const a = await createAttack('ar', { eps: 1, seed: 1 }).poison(data);
  const again = await createAttack('ar', { eps: 1, seed: 1 }).poison(data);
  const other = await createAttack('ar', { eps: 1, seed: 2 }).poison(data);
  assert.ok(sameBytes(a.dataset.x, again.dataset.x));
  assert.ok(!sameBytes(a.dataset.x, other.dataset.x));
  assert.ok(labelsKept(data, a.dataset));
  const m = norms(data, a.dataset);
  assert.ok(m.l2 <= 1 + 1e-6, `l2 ${m.l2}`);
  assert.ok(m.l2 > 0.5, 'the noise is spent (clipping to [0, 1] only shrinks it)');
  assert.ok(m.inRange);
  assert.equal(a.report.deltaNormMax, Math.max(...a.deltaNorm));
  const inf = await createAttack('ar', { norm: 'linf', eps: 8 / 255 }).poison(data);
  const mi = norms(data, inf.dataset);
  assert.ok(mi.linf <= 8 / 255 + 1e-6, `linf ${mi.linf}`);
  assert.ok(mi.linf > 4 / 255);
  assert.ok(mi.inRange);
});

test('AR: each class filter is a stable process whose residual identifies the class', () => {
  const filters = arFilters(0, 3, 1, 3, 32, 32);
  for (const [f] of filters) {
    let sum = 0;
    for (const v of f!) sum += v;
    assert.ok(Math.abs(sum - 1) < 1e-9 || f!.reduce((a, v) => a + Math.abs(v), 0) <= 1 + 1e-9);
  }
  const rng = new Rng(9);
  const v = runArProcess(filters[1]![0]!, 3, 32, 32, () => rng.normal());
  const residual = (f: Float64Array) => {
    let e = 0;
    for (let r = 2; r < 32; r++)
      for (let c = 2; c < 32; c++) {
        let acc = 0;
        let j = 0;
        for (let dr = -2; dr <= 0; dr++)
          for (let dc = -2; dc <= 0; dc++) if (dr || dc) acc += f[j++]! * v[(r + dr) * 32 + c + dc]!;
        e += (v[r * 32 + c]! - acc) ** 2;
      }
    return e;
  };
  assert.ok(residual(filters[1]![0]!) < 1e-9);
  assert.ok(residual(filters[0]![0]!) > 1e-3);
});

test('the model-free poisons reject non-image data with one line', async () => {
  const flat: Dataset = { ...data, sampleShape: [D] };
  for (const name of ['ops', 'ar', 'em', 'tap'])
    await assert.rejects(createAttack(name).poison(flat), (e: Error) => {
      assert.ok(e instanceof PoisonlabError);
      assert.match(e.message, /expected images \[H, W, C\]/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
});

const tinyEm = {
  eps: 0.1,
  width: 8,
  batchSize: 100,
  trainSteps: 2,
  pgdSteps: 2,
  maxRounds: 2,
};

test('error-minimising noise, sample- and class-wise: l_inf budget, labels, [0, 1], seeded', async () => {
  await initBackend({ quiet: true });
  const small = mnistSlice(200);
  for (const scope of ['sample', 'class'] as const) {
    const a = await createAttack('em', { ...tinyEm, scope, seed: 1 }).poison(small);
    const again = await createAttack('em', { ...tinyEm, scope, seed: 1 }).poison(small);
    const other = await createAttack('em', { ...tinyEm, scope, seed: 2 }).poison(small);
    assert.ok(sameBytes(a.dataset.x, again.dataset.x), `${scope}: same seed, same poison`);
    assert.ok(!sameBytes(a.dataset.x, other.dataset.x), `${scope}: another seed, another poison`);
    assert.ok(labelsKept(small, a.dataset));
    const m = norms(small, a.dataset);
    assert.ok(m.linf <= 0.1 + 1e-6, `${scope}: linf ${m.linf}`);
    assert.ok(m.linf > 0.05);
    assert.ok(m.inRange);
    assert.equal(a.report.params['rounds'], 2);
    assert.ok(Math.abs(a.report.deltaLinfMax! - m.linf) < 1e-7);
  }
  // class-wise: images of one class share the noise wherever no pixel was clipped
  const cw = await createAttack('em', { ...tinyEm, scope: 'class' }).poison(small);
  const ofClass = [...small.y.keys()].filter((i) => small.y[i] === small.y[0]);
  const [i, j] = [ofClass[0]!, ofClass[1]!];
  let shared = 0;
  let compared = 0;
  for (let q = 0; q < D; q++) {
    const di = cw.dataset.x[i * D + q]! - small.x[i * D + q]!;
    const dj = cw.dataset.x[j * D + q]! - small.x[j * D + q]!;
    const free = (v: number) => v > 0.1 && v < 0.9;
    if (!free(small.x[i * D + q]!) || !free(small.x[j * D + q]!)) continue;
    compared++;
    if (Math.abs(di - dj) < 1e-6) shared++;
  }
  if (compared > 0) assert.equal(shared, compared);
  await assert.rejects(
    createAttack('em', { ...tinyEm, stepSize: 0.2 }).poison(small),
    /stepSize 0.2 exceeds eps 0.1/,
  );
});

test('TAP: class-targeted PGD against the surrogate holds l_inf eps, keeps labels, moves towards y + 1', async () => {
  await initBackend({ quiet: true });
  const small = mnistSlice(200);
  const surrogate = await trainTinySurrogate(small);
  try {
    const p = { eps: 0.1, steps: 10, batchSize: 100 };
    const a = await createAttack('tap', p).poison(small, { surrogate });
    const b = await createAttack('tap', p).poison(small, { surrogate });
    assert.ok(sameBytes(a.dataset.x, b.dataset.x), 'TAP has no randomness');
    assert.ok(labelsKept(small, a.dataset));
    const m = norms(small, a.dataset);
    assert.ok(m.linf <= 0.1 + 1e-6, `linf ${m.linf}`);
    assert.ok(m.inRange);
    const toTarget = a.report.params['surrogateToTarget'] as number;
    assert.ok(a.report.surrogateAfter!.accuracy < a.report.surrogateBefore!.accuracy);
    assert.ok(toTarget > 0.1, `surrogate now says y + 1 on ${toTarget}`);
    await assert.rejects(createAttack('tap').poison(small), /a surrogate model is required/);
    await assert.rejects(
      createAttack('tap', { shift: 10 }).poison(small, { surrogate }),
      /shift 10 maps every class/,
    );
  } finally {
    surrogate.dispose();
  }
});
