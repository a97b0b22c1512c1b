import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyOverrides,
  canonicalJson,
  configHash,
  loadConfigFile,
  parseConfig,
  parseNumberList,
  regimeLabel,
} from '../../src/config/schema.js';
import { getPreset, PAPER_WIDTHS, presetNames, presetRaw } from '../../src/experiments/presets.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { smallConfig } from './fixtures/small-config.js';

function raw(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(smallConfig()));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PoisonlabError, `expected a PoisonlabError, got ${e}`);
    assert.ok(!e.message.includes('\n'), 'the message is one line');
    return e.message;
  }
  assert.fail('expected an error');
}

test('every preset validates; the paper presets keep the original protocol', () => {
  for (const name of presetNames()) getPreset(name);
  const mnist = getPreset('paper-mnist');
  assert.deepEqual(mnist.widths, PAPER_WIDTHS);
  assert.equal(mnist.widths.at(-1), 200000);
  assert.deepEqual(mnist.folds, { k: 5, run: [0, 1, 2, 3, 4] });
  assert.equal(mnist.repetitions, 20);
  assert.equal(mnist.training.maxEpochs, 1000);
  assert.equal(mnist.training.patience, 30);
  assert.equal(mnist.training.lr, 0.1);
  assert.equal(mnist.training.momentum, 0);
  assert.deepEqual(mnist.regimes.map(regimeLabel), ['clean', 'A-C500', 'B-B1', 'C-beta0.3']);
  assert.equal(mnist.surrogate?.path, 'paper:mnist');
  assert.equal(mnist.attack?.epochs, 500);
  const cifar = getPreset('paper-cifar10');
  assert.equal(cifar.repetitions, 5);
  assert.equal(cifar.training.lr, 0.01);
  assert.equal(cifar.attack?.step, 0.5);
  assert.deepEqual(cifar.regimes.map(regimeLabel), ['clean', 'A-C1000', 'B-B1', 'C-beta0.3']);
  assert.match(
    errorOf(() => getPreset('nope')),
    /--preset: unknown preset 'nope', expected one of .*quick/,
  );
});

test('validation errors name the field path and the expectation', () => {
  const bad = raw();
  (bad['training'] as Record<string, unknown>)['lr'] = -1;
  assert.match(
    errorOf(() => parseConfig(bad, 'my.yaml')),
    /^my\.yaml: training\.lr: .*>0/,
  );

  const noBudget = raw();
  (noBudget['regimes'] as unknown[])[1] = { regime: 'A' };
  assert.match(
    errorOf(() => parseConfig(noBudget)),
    /regimes\.1\.budget: regime A needs a budget/,
  );

  const badFold = raw();
  badFold['folds'] = { k: 5, run: [0, 5] };
  assert.match(
    errorOf(() => parseConfig(badFold)),
    /folds\.run\.1: fold 5 is outside \[0, 5\)/,
  );

  const typo = raw();
  typo['widht'] = [1];
  assert.match(
    errorOf(() => parseConfig(typo)),
    /widht/,
  );

  const badWidth = raw();
  badWidth['widths'] = [10, 2.5];
  assert.match(
    errorOf(() => parseConfig(badWidth)),
    /widths\.1: .*expected int/,
  );

  const missing = raw();
  delete missing['model'];
  assert.match(
    errorOf(() => parseConfig(missing)),
    /^config: model: /,
  );
});

test('the config hash is stable: independent of key order, changed by any setting', () => {
  const a = smallConfig();
  const reordered = parseConfig(Object.fromEntries(Object.entries(raw()).reverse()));
  assert.equal(configHash(a), configHash(reordered));
  assert.match(configHash(a), /^[0-9a-f]{64}$/);
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  assert.notEqual(configHash(a), configHash(smallConfig({ repetitions: 3 })));
  assert.notEqual(configHash(a), configHash(applyOverrides(a, { widths: [10, 100] })));
  // Pinned: a change of the canonical form or of the defaults would silently orphan existing sweep folders.
  assert.equal(configHash(a), '80c5028336367a94b98e876b39b897e7bf574e134213dad779515331d61d9458');
});

test('configs load from YAML and JSON files; bad files are one-line errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-config-'));
  const yamlPath = join(dir, 'sweep.yaml');
  writeFileSync(
    yamlPath,
    [
      'dataset: mnist',
      'model: mnist-cnn',
      'widths: [10, 1e3]',
      'regimes:',
      '  - { regime: clean }',
      '  - { regime: B, budget: 1 }',
      'attack: { epochs: 5, step: 0.1, batchSize: 128 }',
      'surrogate: { model: mnist-cnn, width: 100, epochs: 2, lr: 0.1, batchSize: 128 }',
      'training: { lr: 0.1, batchSize: 128, maxEpochs: 5, patience: 2 }',
      'folds: { k: 5, run: [0] }',
      'repetitions: 2',
    ].join('\n'),
  );
  const c = loadConfigFile(yamlPath);
  assert.deepEqual(c.widths, [10, 1000]);
  assert.equal(c.attack?.projectEvery, 'epoch');
  const jsonPath = join(dir, 'sweep.json');
  writeFileSync(jsonPath, JSON.stringify(c));
  assert.equal(configHash(loadConfigFile(jsonPath)), configHash(c));
  writeFileSync(jsonPath, '{ not json');
  assert.match(
    errorOf(() => loadConfigFile(jsonPath)),
    /sweep\.json: not valid JSON/,
  );
  assert.match(
    errorOf(() => loadConfigFile(join(dir, 'missing.yaml'))),
    /missing\.yaml: expected a config file, found nothing there \(ENOENT\)/,
  );
});

test('overrides are applied and re-validated', () => {
  const c = applyOverrides(smallConfig(), { widths: [5, 50], repetitions: 1, maxEpochs: 3, folds: [1, 2] });
  assert.deepEqual(c.widths, [5, 50]);
  assert.equal(c.repetitions, 1);
  assert.equal(c.training.maxEpochs, 3);
  assert.deepEqual(c.folds?.run, [1, 2]);
  assert.match(
    errorOf(() => applyOverrides(smallConfig(), { widths: [0] })),
    /config overrides: widths\.0/,
  );
  assert.deepEqual(parseNumberList('10, 1e3,20', '--widths'), [10, 1000, 20]);
  assert.match(
    errorOf(() => parseNumberList('10,x', '--widths')),
    /--widths: 'x' is not a number/,
  );
});

test('an unknown field is named first, with the nearest valid name, before what it leaves missing', () => {
  const { widths, ...rest } = raw();
  const m = errorOf(() => parseConfig({ ...rest, widthz: widths }, 'typo.yaml'));
  assert.match(m, /^typo\.yaml: widthz: unknown field \(did you mean 'widths'\?\)$/);
  const nested = raw();
  (nested['training'] as Record<string, unknown>)['patiance'] = 3;
  assert.match(
    errorOf(() => parseConfig(nested)),
    /^config: training\.patiance: unknown field \(did you mean 'patience'\?\)$/,
  );
  const far = raw();
  far['zzzzzzzz'] = 1;
  assert.match(
    errorOf(() => parseConfig(far)),
    /^config: zzzzzzzz: unknown field$/,
  );
});

test('extends: a three-line config starts from a preset and overrides only what differs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-extends-'));
  const file = join(dir, 'mine.yaml');
  writeFileSync(file, 'extends: laptop-mnist\nwidths: [10, 100]\ntraining: { patience: 7 }\n');
  const c = loadConfigFile(file, presetRaw);
  const base = getPreset('laptop-mnist');
  assert.deepEqual(c.widths, [10, 100]);
  assert.equal(c.training.patience, 7);
  assert.equal(c.training.lr, base.training.lr, 'objects merge field by field');
  assert.deepEqual(c.regimes, base.regimes);
  assert.equal(c.name, 'laptop-mnist');
  // a config file as the base, relative to the extending one; null removes a field of the base
  writeFileSync(join(dir, 'child.yaml'), 'extends: ./mine.yaml\nname: child\nlimit: null\n');
  const child = loadConfigFile(join(dir, 'child.yaml'), presetRaw);
  assert.deepEqual([child.name, child.limit, child.widths], ['child', undefined, [10, 100]]);
  // the same settings written out in full have the same hash
  assert.equal(
    configHash(c),
    configHash(
      parseConfig({
        ...JSON.parse(JSON.stringify(base)),
        widths: [10, 100],
        training: { ...base.training, patience: 7 },
      }),
    ),
  );
  writeFileSync(join(dir, 'bad.yaml'), 'extends: laptop-mnits\n');
  assert.match(
    errorOf(() => loadConfigFile(join(dir, 'bad.yaml'), presetRaw)),
    /extends: unknown preset 'laptop-mnits'/,
  );
  writeFileSync(join(dir, 'loop.yaml'), 'extends: ./loop.yaml\n');
  assert.match(
    errorOf(() => loadConfigFile(join(dir, 'loop.yaml'), presetRaw)),
    /extends itself/,
  );
  writeFileSync(join(dir, 'typo.yaml'), 'extends: quick\nrepetitons: 3\n');
  assert.match(
    errorOf(() => loadConfigFile(join(dir, 'typo.yaml'), presetRaw)),
    /repetitons: unknown field \(did you mean 'repetitions'\?\)/,
  );
});
