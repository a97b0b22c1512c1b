import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import type { NativeAddon } from '../../src/backend/native.js';
import { nativeSkip } from './needs-native.js';

// The addon of this checkout was built, so a C compiler and node-gyp are here.
const skip = nativeSkip();

test('POISONLAB_BLAS=own builds an addon that needs no OpenBLAS and runs the own product', { skip }, () => {
  const root = resolve('.');
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-build-'));
  try {
    // a copy of what the package ships for the build, so this checkout's addon is left alone
    mkdirSync(join(dir, 'scripts'));
    cpSync(join(root, 'scripts', 'build-native.mjs'), join(dir, 'scripts', 'build-native.mjs'));
    cpSync(join(root, 'native', 'binding.gyp'), join(dir, 'native', 'binding.gyp'));
    cpSync(join(root, 'native', 'src'), join(dir, 'native', 'src'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const res = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], {
      env: { ...process.env, POISONLAB_BLAS: 'own', POISONLAB_NATIVE: '' },
      encoding: 'utf8',
    });
    assert.equal(res.status, 0);
    assert.equal(res.stdout.trim().split('\n').length, 1, res.stdout);
    assert.match(res.stdout, /native addon built with the project's own sgemm \(POISONLAB_BLAS=own\)/);
    const file = join(dir, 'native', 'build', 'Release', 'poisonlab_native.node');
    assert.ok(!readFileSync(file).includes('libopenblas'), 'the addon links no OpenBLAS');
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    assert.match(addon.gemm(), /^own packed /);
    assert.ok(!addon.gemmChoices().includes('openblas'));
    assert.equal(addon.config(), '');
    // [2, 3] x [3, 2], then C += -1 * that (the two-layer update's alpha and beta)
    const buf = new ArrayBuffer(4 * 16);
    const f = new Float32Array(buf);
    f.set([1, 2, 3, 4, 5, 6], 0);
    f.set([1, 0, 0, 1, 1, 1], 6);
    addon.sgemm(buf, 0, 0, 2, 2, 3, 0, 3, 24, 2, 0, 48, 2);
    assert.deepEqual([...f.subarray(12)], [4, 5, 10, 11]);
    addon.sgemm(buf, 0, 0, 2, 2, 3, 0, 3, 24, 2, 1, 48, 2, -1);
    assert.deepEqual([...f.subarray(12)], [0, 0, 0, 0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('build-native refuses an unknown POISONLAB_BLAS in one line and exits 0', () => {
  const res = spawnSync(process.execPath, ['scripts/build-native.mjs'], {
    env: { ...process.env, POISONLAB_BLAS: 'mkl', POISONLAB_NATIVE: '' },
    encoding: 'utf8',
  });
  assert.equal(res.status, 0);
  assert.equal(res.stdout.trim().split('\n').length, 1);
  assert.match(
    res.stdout,
    /native addon not built \(POISONLAB_BLAS=mkl: expected own, openblas or accelerate\)/,
  );
});
