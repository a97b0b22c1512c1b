/**
 * A gradient attack interrupted mid-run and started again with the same checkpoint gives the poison of an
 * uninterrupted run, byte for byte (regimes A and B, projection per epoch and per step).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAscentState, removeAscentState } from '../../src/attacks/ascent-state.js';
import { createRegisteredAttack } from '../../src/attacks/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice, trainTinySurrogate } from './fixtures.js';

await tf.setBackend('cpu');

const data = mnistSlice(160, 2000);
const surrogate = await trainTinySurrogate(mnistSlice(512));
const dir = mkdtempSync(join(tmpdir(), 'poisonlab-ascent-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Stands for a kill: thrown from inside the ascent at a chosen step. */
class Killed extends Error {}

const cases = [
  { name: 'l21-perturbation', params: { budget: 2, epochs: 6, step: 5, batchSize: 32, seed: 3 } },
  {
    name: 'per-sample-perturbation',
    params: { budget: 1, epochs: 6, step: 0.5, batchSize: 32, seed: 4, stepRule: 'raw' },
  },
  {
    name: 'per-sample-perturbation',
    params: { budget: 1, epochs: 5, step: 0.3, batchSize: 48, seed: 5, projectEvery: 'step' },
  },
];

for (const c of cases) {
  test(`${c.name} ${JSON.stringify(c.params)}: killed twice and resumed, the poison equals an uninterrupted one`, async () => {
    const whole = await createRegisteredAttack(c.name, c.params).poison(data, { surrogate });
    const checkpoint = {
      path: join(dir, `${c.name}-${c.params.seed}.npz`),
      fingerprint: 'test',
      everySeconds: 0,
    };
    const steps = whole.report.params['steps'] as number;
    const perEpoch = steps / c.params.epochs;
    // Kill once in the middle of epoch 2 and once in epoch 4 (saves happen after each epoch).
    for (const killAt of [Math.floor(1.5 * perEpoch), Math.floor(3.5 * perEpoch)]) {
      let firstSeen: number | undefined;
      await assert.rejects(
        createRegisteredAttack(c.name, c.params).poison(data, {
          surrogate,
          checkpoint,
          onProgress: (done) => {
            firstSeen ??= done;
            if (done === killAt) throw new Killed();
          },
        }),
        Killed,
      );
      assert.ok(existsSync(checkpoint.path), 'a checkpoint was saved before the kill');
      // the second piece starts after the saved epoch, not at step 0
      if (killAt > 2 * perEpoch) assert.equal(firstSeen, perEpoch, 'the second piece resumes after epoch 1');
    }
    const resumed = await createRegisteredAttack(c.name, c.params).poison(data, { surrogate, checkpoint });
    assert.equal(resumed.report.resumedEpoch, 3);
    assert.deepEqual(Buffer.from(resumed.dataset.x.buffer), Buffer.from(whole.dataset.x.buffer));
    assert.deepEqual(resumed.deltaNorm, whole.deltaNorm);
    assert.equal(resumed.report.deltaNormSum, whole.report.deltaNormSum);
    removeAscentState(checkpoint);
    assert.equal(existsSync(checkpoint.path), false);
  });
}

test('a checkpoint of other settings is ignored: the attack starts afresh', async () => {
  const params = { budget: 1, epochs: 3, step: 0.5, batchSize: 32, seed: 7 };
  const checkpoint = { path: join(dir, 'other.npz'), fingerprint: 'test', everySeconds: 0 };
  await assert.rejects(
    createRegisteredAttack('per-sample-perturbation', params).poison(data, {
      surrogate,
      checkpoint,
      onProgress: (done) => {
        if (done === 8) throw new Killed();
      },
    }),
    Killed,
  );
  const other = { ...params, step: 0.25 };
  const fresh = await createRegisteredAttack('per-sample-perturbation', other).poison(data, { surrogate });
  const r = await createRegisteredAttack('per-sample-perturbation', other).poison(data, {
    surrogate,
    checkpoint,
  });
  assert.equal(r.report.resumedEpoch, undefined);
  assert.deepEqual(Buffer.from(r.dataset.x.buffer), Buffer.from(fresh.dataset.x.buffer));
});

test('a corrupt or foreign checkpoint is a one-line error that says how to start over', () => {
  const path = join(dir, 'corrupt.npz');
  writeFileSync(path, 'not a zip');
  assert.throws(
    () => loadAscentState({ path, fingerprint: 'x' }, 10),
    (e: unknown) =>
      e instanceof PoisonlabError &&
      !e.message.includes('\n') &&
      /unreadable attack checkpoint.*delete it/.test(e.message),
  );
});
