import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../src/backend/index.js';
import { readNpz } from '../../src/io/npz.js';
import { readPth } from '../../src/io/pth.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { createModel } from '../../src/models/index.js';
import { torchStateDict } from '../../src/train/torch-checkpoint.js';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';
import { pthOf } from '../io/torch-writer.js';
import { SEED_PTH } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-interop-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, nodeArgs(CLI_MAIN, ...args), { encoding: 'utf8', timeout: 240_000 });
}

function ok(run: ReturnType<typeof cli>): string {
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

function failsWith(run: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.equal(run.status, 1, run.stdout);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, /^poisonlab: /);
  assert.match(lines[0]!, pattern);
}

/** The same tensors (names, dtypes, shapes, bytes) in two state_dicts. */
function sameTensors(a: Map<string, unknown>, b: Map<string, unknown>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) assert.deepEqual(b.get(k), t, k);
}

/** A PyTorch-layout .pth of a fresh mnist-cnn of width 16 (written without PyTorch). */
const PTH = join(dir, 'mnist16.pth');
before(async () => {
  await initBackend({ quiet: true });
  const m = createModel('mnist-cnn', { width: 16, inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
  writeFileSync(PTH, pthOf(torchStateDict(m)));
  m.dispose();
});

describe('poisonlab convert', () => {
  test('.pth -> .npz -> .safetensors -> .npz, and .pth -> .safetensors: the tensors survive bit for bit', () => {
    const npz = join(dir, 'a.npz');
    const st = join(dir, 'a.safetensors');
    const st2 = join(dir, 'b.safetensors');
    const npz2 = join(dir, 'b.npz');
    assert.match(
      ok(cli('convert', PTH, npz)),
      /mnist16\.pth \(PyTorch checkpoint\) -> .*a\.npz \(poisonlab checkpoint\): mnist-cnn width 16, 8 tensors/,
    );
    const summary = JSON.parse(ok(cli('convert', npz, st, '--json')));
    assert.deepEqual(summary, {
      in: npz,
      out: st,
      from: 'npz',
      to: 'safetensors',
      model: 'mnist-cnn',
      width: 16,
      tensors: 8,
    });
    ok(cli('convert', st, npz2));
    ok(cli('convert', PTH, st2));
    const original = readPth(PTH).tensors;
    sameTensors(original, readSafetensors(st).tensors);
    sameTensors(original, readSafetensors(st2).tensors);
    assert.deepEqual(readSafetensors(st2).metadata, {
      format: 'pt',
      'poisonlab.model': 'mnist-cnn',
      'poisonlab.width': '16',
      'poisonlab.inputShape': '[28,28,1]',
      'poisonlab.numClasses': '10',
    });
    const a = readNpz(npz);
    const b = readNpz(npz2);
    assert.deepEqual(a.arrays, b.arrays);
    assert.deepEqual((a.meta as { imported: unknown }).imported, { from: PTH, format: 'pth' });
    assert.deepEqual((a.meta as { model: { name: string } }).model.name, 'mnist-cnn');
  });

  test('a state_dict of no poisonlab model is copied to .safetensors as it is; to .npz it needs --model', () => {
    const odd = join(dir, 'odd.pth');
    const t = { dtype: 'F16' as const, shape: [2], bytes: new Uint8Array([0, 0x3c, 0, 0xc0]) };
    writeFileSync(odd, pthOf([['anything', t]]));
    const run = cli('convert', odd, join(dir, 'odd.safetensors'));
    ok(run);
    assert.match(run.stderr, /not the state_dict of a poisonlab model; copying its 1 tensors as they are/);
    assert.deepEqual(readSafetensors(join(dir, 'odd.safetensors')).tensors.get('anything'), t);
    failsWith(
      cli('convert', odd, join(dir, 'odd.npz')),
      /odd\.pth: cannot tell which model this state_dict holds/,
    );
  });

  test('refusals: writing .pth, converting to the same format, a bad --input-shape, contradicting hints', () => {
    failsWith(
      cli('convert', PTH, join(dir, 'x.pth')),
      /x\.pth: writing PyTorch \.pth files is not supported/,
    );
    failsWith(cli('convert', PTH, join(dir, 'x.pt')), /writing PyTorch \.pth files is not supported/);
    failsWith(
      cli('convert', join(dir, 'a.npz'), join(dir, 'c.npz')),
      /are both poisonlab checkpoints, nothing to convert/,
    );
    failsWith(
      cli('convert', PTH, join(dir, 'x.npz'), '--input-shape', '28,x'),
      /--input-shape: expected positive integers/,
    );
    failsWith(
      cli('convert', PTH, join(dir, 'x.npz'), '--width', '20'),
      /'fc1\.weight' has shape \[16,320\], expected \[20,320\]/,
    );
    failsWith(cli('convert', PTH, join(dir, 'x.h5')), /unknown weights file type '\.h5'/);
  });

  test("the paper's surrogate converts both ways, identically", (t) => {
    if (!existsSync(SEED_PTH)) {
      t.skip(`${SEED_PTH} not present`);
      return;
    }
    const npz = join(dir, 'seed.npz');
    const st = join(dir, 'seed.safetensors');
    assert.match(ok(cli('convert', SEED_PTH, npz)), /mnist-cnn width 100, 8 tensors/);
    ok(cli('convert', npz, st));
    sameTensors(readPth(SEED_PTH).tensors, readSafetensors(st).tensors);
  });
});

describe('train --init and poison --surrogate take PyTorch weights', () => {
  test('train --init x.pth on a small MNIST slice starts from those weights, and --save keeps going', () => {
    const save = join(dir, 'trained.npz');
    const out = JSON.parse(
      ok(
        cli(
          'train',
          '--init',
          PTH,
          '--limit',
          '256',
          '--test-limit',
          '200',
          '--epochs',
          '1',
          '--save',
          save,
          '--json',
        ),
      ),
    );
    assert.deepEqual([out.model, out.width, out.init, out.params], ['mnist-cnn', 16, PTH, 10_586]);
    assert.ok(out.testAccuracy >= 0 && out.testAccuracy <= 1);
    const again = JSON.parse(
      ok(cli('train', '--init', save, '--limit', '64', '--test-limit', '50', '--json')),
    );
    assert.deepEqual([again.model, again.width], ['mnist-cnn', 16]);
    failsWith(
      cli('train', '--init', PTH, '--width', '32', '--limit', '64'),
      /mnist16\.pth: 'fc1\.weight' has shape \[16,320\], expected \[32,320\] .*\(the file's shapes say width 16\)/,
    );
    failsWith(
      cli('train', '--init', save, '--model', 'alexnet', '--limit', '64'),
      /trained\.npz: it holds mnist-cnn, not alexnet/,
    );
  });

  test("train --init with the paper's surrogate: it already knows MNIST", (t) => {
    if (!existsSync(SEED_PTH)) {
      t.skip(`${SEED_PTH} not present`);
      return;
    }
    const out = JSON.parse(
      ok(
        cli(
          'train',
          '--init',
          SEED_PTH,
          '--limit',
          '256',
          '--test-limit',
          '500',
          '--epochs',
          '1',
          '--lr',
          '0',
          '--json',
        ),
      ),
    );
    assert.deepEqual([out.model, out.width], ['mnist-cnn', 100]);
    // lr 0: the imported weights as they are, 0.9888 on the whole test set
    assert.ok(out.testAccuracy > 0.97, `test accuracy ${out.testAccuracy}`);
  });

  test('poison --surrogate x.pth runs the attack against the imported network', () => {
    const out = join(dir, 'poison.npz');
    const report = JSON.parse(
      ok(
        cli(
          'poison',
          '--regime',
          'B',
          '--surrogate',
          PTH,
          '--limit',
          '64',
          '--epochs',
          '1',
          '--out',
          out,
          '--json',
        ),
      ),
    );
    assert.ok(report.surrogateAfter.loss > report.surrogateBefore.loss);
    const meta = readNpz(out).meta as {
      surrogate: { meta: { model: string; width: number; source: unknown } };
    };
    assert.deepEqual(
      [meta.surrogate.meta.model, meta.surrogate.meta.width, meta.surrogate.meta.source],
      ['mnist-cnn', 16, { path: PTH, format: 'pth' }],
    );
    failsWith(
      cli(
        'poison',
        '--regime',
        'A',
        '--surrogate',
        PTH,
        '--model',
        'cifar-cnn',
        '--limit',
        '64',
        '--out',
        out,
      ),
      /mnist16\.pth: model cifar-cnn: expected an image input shape \[H, W, 3\]/,
    );
  });

  test('a sweep takes surrogate.path: x.pth (no surrogate is trained)', { timeout: 240_000 }, () => {
    const config = {
      name: 'pth-surrogate',
      dataset: 'mnist',
      limit: 200,
      testLimit: 100,
      model: 'mnist-cnn',
      widths: [8],
      regimes: [{ regime: 'A', budget: 500 }],
      attack: { epochs: 1, step: 0.1, batchSize: 128 },
      surrogate: { path: PTH, model: 'mnist-cnn', width: 16, epochs: 1, lr: 0.1, batchSize: 64 },
      training: { lr: 0.1, batchSize: 64, maxEpochs: 1 },
      repetitions: 1,
    };
    const configPath = join(dir, 'sweep.json');
    writeFileSync(configPath, JSON.stringify(config));
    const out = join(dir, 'sweep');
    const summary = JSON.parse(
      ok(cli('sweep', '--config', configPath, '--out', out, '--workers', '1', '--json')),
    );
    assert.deepEqual([summary.runs, summary.done, summary.failed], [1, 1, 0]);
    assert.ok(!existsSync(join(out, 'surrogate.npz')), 'no surrogate trained');
    assert.ok(existsSync(join(out, 'poisons', 'A-C500-r0.npz')));
  });
});
