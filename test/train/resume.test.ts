import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/backend/index.js';
import { subset } from '../../src/data/dataset.js';
import { readNpz } from '../../src/io/npz.js';
import { createModel } from '../../src/models/index.js';
import { TrainingStopped, train } from '../../src/train/index.js';
import type { TrainOptions, TrainResult } from '../../src/train/types.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { mnistSlice, weightsOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-resume-'));
before(async () => {
  await initBackend({ quiet: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const { train: all, test } = mnistSlice(400, 100);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const data = { train: subset(all, range(0, 300), 'tr'), val: subset(all, range(300, 400), 'va'), test };

function model(seed = 5) {
  return createModel('mnist-cnn', { width: 12, inputShape: [28, 28, 1], numClasses: 10, seed });
}

// Momentum so that the optimizer's buffers must be carried too; patience so the early-stopping state is.
const OPTS: TrainOptions = { epochs: 5, batchSize: 32, lr: 0.05, momentum: 0.9, patience: 4, seed: 7 };

/** The numbers of a result without its timings. */
function numbers(r: TrainResult) {
  return {
    epochs: r.epochs,
    bestEpoch: r.bestEpoch,
    final: r.final,
    history: r.history.map(({ seconds: _, ...m }) => m),
  };
}

describe('per-epoch training checkpoints', () => {
  it('a stop request checkpoints after the current epoch, whatever everySeconds, and the run resumes exactly', async () => {
    const plain = model();
    const ref = await train(plain, data, OPTS);
    plain.dispose();
    const path = join(dir, 'run-stopped.npz');
    const first = model();
    let epochs = 0;
    await assert.rejects(
      train(first, data, {
        ...OPTS,
        checkpoint: { path, tag: 'run', everySeconds: 3600, stop: () => epochs >= 2 },
        onEpoch: () => epochs++,
      }),
      (e: unknown) => e instanceof TrainingStopped && e.epoch === 2 && e.path === path,
    );
    first.dispose();
    assert.equal((readNpz(path).meta as { epoch: number }).epoch, 2, 'written at once, not an hour later');
    const second = model(99);
    const resumed = await train(second, data, {
      ...OPTS,
      checkpoint: { path, tag: 'run', everySeconds: 3600 },
    });
    second.dispose();
    assert.equal(resumed.resumedAfter, 2);
    assert.deepEqual(numbers(resumed), numbers(ref));
    assert.equal(existsSync(path), false);
  });

  it('a run interrupted after epoch k resumes at k+1 and ends with the numbers of an uninterrupted run', async () => {
    const plain = model();
    const ref = await train(plain, data, OPTS);
    const refWeights = weightsOf(plain);
    plain.dispose();
    assert.equal(ref.resumedAfter, 0);

    for (const k of [1, 3]) {
      const path = join(dir, `run-k${k}.npz`);
      const first = model();
      const seen: number[] = [];
      await assert.rejects(
        train(first, data, {
          ...OPTS,
          checkpoint: { path, tag: 'run' },
          onEpoch: (m) => {
            seen.push(m.epoch);
            if (m.epoch === k) throw new Error('interrupted');
          },
        }),
        /interrupted/,
      );
      first.dispose();
      assert.ok(existsSync(path), 'the checkpoint of epoch k is on disk');
      assert.equal((readNpz(path).meta as { epoch: number }).epoch, k);

      // A fresh process would build the model from another state: the checkpoint's weights win.
      const second = model(99);
      const epochs: number[] = [];
      const resumed = await train(second, data, {
        ...OPTS,
        checkpoint: { path, tag: 'run' },
        onEpoch: (m) => epochs.push(m.epoch),
      });
      assert.equal(resumed.resumedAfter, k);
      assert.equal(epochs[0], k + 1, 'resumes at epoch k+1');
      assert.deepEqual(numbers(resumed), numbers(ref));
      assert.deepEqual(weightsOf(second), refWeights, 'bit-identical final weights');
      assert.ok(!existsSync(path), 'the checkpoint is removed when training ends');
      second.dispose();
    }
  });

  it('a checkpoint of another run or other settings is ignored; a corrupt one is a one-line error', async () => {
    const path = join(dir, 'other.npz');
    const m1 = model();
    await assert.rejects(
      train(m1, data, {
        ...OPTS,
        checkpoint: { path, tag: 'a' },
        onEpoch: () => {
          throw new Error('stop');
        },
      }),
    );
    m1.dispose();
    const m2 = model();
    const r = await train(m2, data, { ...OPTS, epochs: 1, checkpoint: { path, tag: 'b' } });
    assert.equal(r.resumedAfter, 0, 'another tag starts from epoch 0');
    m2.dispose();

    writeFileSync(path, 'not a zip');
    const m3 = model();
    await assert.rejects(train(m3, data, { ...OPTS, checkpoint: { path, tag: 'a' } }), (e: unknown) => {
      assert.ok(e instanceof PoisonlabError);
      assert.match(e.message, /unreadable training checkpoint .*delete it/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    m3.dispose();
  });
});
