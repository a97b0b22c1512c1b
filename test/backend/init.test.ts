import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from '../../src/backend/index.js';
import { PoisonlabError } from '../../src/util/errors.js';

test('initBackend is idempotent and honours POISONLAB_BACKEND', async () => {
  const a = await initBackend({ quiet: true });
  const b = await initBackend({ quiet: true });
  assert.equal(a, b);
  assert.equal(backendInfo(), a);
  process.env.POISONLAB_BACKEND = 'cpu';
  try {
    const c = await initBackend({ prefer: 'wasm', quiet: true });
    assert.equal(c.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    process.env.POISONLAB_BACKEND = 'gpu';
    await assert.rejects(
      initBackend(),
      (e: unknown) => e instanceof PoisonlabError && /POISONLAB_BACKEND/.test(e.message),
    );
  } finally {
    delete process.env.POISONLAB_BACKEND;
  }
  const d = await initBackend({ prefer: 'wasm', quiet: true });
  assert.equal(d.backend, 'wasm');
  assert.equal(d.native, false);
});

test('POISONLAB_NATIVE=0 turns auto into pure wasm', async () => {
  process.env.POISONLAB_NATIVE = '0';
  try {
    const info = await initBackend({ quiet: true });
    assert.equal(info.backend, 'wasm');
    assert.equal(info.native, false);
    assert.match(info.note ?? '', /disabled/);
  } finally {
    delete process.env.POISONLAB_NATIVE;
  }
});
