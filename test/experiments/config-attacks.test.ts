/** Sweep configs with registry attacks and defences: validation, labels and the planned arms. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash, parseConfig } from '../../src/config/schema.js';
import { needsSurrogate, planArms, planPoisons, planRuns } from '../../src/experiments/plan.js';
import { getPreset } from '../../src/experiments/presets.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { parseSweepConfig } from '../../src/experiments/validate.js';
import { PoisonlabError } from '../../src/util/errors.js';

const base = {
  name: 't',
  dataset: 'mnist',
  model: 'mnist-cnn',
  widths: [10, 100],
  training: { lr: 0.1, batchSize: 32, maxEpochs: 1 },
  repetitions: 2,
};

test('a config of registry attacks and defences plans every arm with and without each defence', () => {
  const c = parseConfig({
    ...base,
    attacks: [
      { name: 'badnets', params: { rate: 0.05 } },
      { name: 'patch', label: 'badnets-big', params: { patchSize: 5 } },
    ],
    defences: [{ name: 'ss' }, { name: 'bit-depth', params: { bits: 4 } }],
  });
  assert.deepEqual(c.regimes, []);
  assert.deepEqual(
    planArms(c).map((a) => a.label),
    [
      'badnets',
      'badnets-big',
      'badnets+spectral-signatures',
      'badnets-big+spectral-signatures',
      'badnets+bit-depth',
      'badnets-big+bit-depth',
    ],
  );
  const runs = planRuns(c);
  assert.equal(runs.length, 6 * 2 * 2);
  const defended = runs.find((r) => r.key === 'badnets+bit-depth/w100/r1/f0')!;
  assert.equal(defended.poisonKey, 'badnets-r1', 'a defended arm trains on its attack’s poison');
  assert.deepEqual(defended.defence, { name: 'bit-depth', params: { bits: 4 } });
  assert.deepEqual(
    planPoisons(c, runs).map((p) => p.key),
    ['badnets-r0', 'badnets-r1', 'badnets-big-r0', 'badnets-big-r1'],
  );
  assert.equal(needsSurrogate(runs), false);
  assert.match(configHash(c), /^[0-9a-f]{64}$/);
});

test('the config schema alone leaves names to the registries; a sweep refuses an unknown attack before it starts', async () => {
  // parseConfig loads no attack code (report and results read configs without tfjs): the name is the registry's
  const c = parseConfig({ ...base, attacks: [{ name: 'nope' }] }, 'cfg');
  assert.equal(c.attacks![0]!.name, 'nope');
  await assert.rejects(
    runSweep(c, { out: mkdtempSync(join(tmpdir(), 'poisonlab-names-')), workers: 1 }),
    (e: Error) => e instanceof PoisonlabError && /attacks\.0\.name: unknown attack 'nope'/.test(e.message),
  );
});

test('bad attack and defence entries are one-line errors naming the field', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ attacks: [{ name: 'nope' }] }, /attacks\.0\.name: unknown attack 'nope' \(see 'poisonlab attacks'\)/],
    [{ attacks: [{ name: 'badnets', params: { rate: 3 } }] }, /attacks\.0\.params: attack badnets: rate: /],
    [{ attacks: [{ name: 'label-consistent' }] }, /surrogate: attack label-consistent needs a surrogate/],
    [{ attacks: [{ name: 'badnets' }, { name: 'patch' }] }, /two attacks share a label/],
    [{ attacks: [{ name: 'badnets' }], defences: [{ name: 'x' }] }, /defences\.0\.name: unknown defence 'x'/],
    [
      { attacks: [{ name: 'badnets' }], defences: [{ name: 'ac', params: { maxFraction: 2 } }] },
      /defences\.0\.params: defence activation-clustering: maxFraction/,
    ],
    [{}, /regimes: expected at least one regime, or attacks/],
    [{ attacks: [{ name: 'badnets', label: 'a+b' }] }, /attacks\.0\.label: expected letters/],
  ];
  for (const [over, re] of bad)
    assert.throws(
      () => parseSweepConfig({ ...base, ...over }, 'cfg'),
      (e: Error) => e instanceof PoisonlabError && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(over),
    );
});

test('the backdoor preset validates: three backdoors, three defences, a surrogate for the label-consistent one', () => {
  const c = getPreset('backdoor-mnist-quick');
  const arms = planArms(c);
  assert.equal(arms.length, 1 + 3 + 3 * 3);
  assert.equal(needsSurrogate(planRuns(c)), true);
  assert.deepEqual(c.widths, [10, 100, 1000, 20000]);
});

test("a config's model and its own parameters are the model registry's to check", () => {
  const c = parseSweepConfig({
    ...base,
    attacks: [{ name: 'badnets' }],
    model: 'mlp',
    modelParams: { depth: 2 },
  });
  assert.deepEqual(c.modelParams, { depth: 2 });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ model: 'vgg' }, /^cfg: model: model 'vgg': unknown, expected one of .*mlp/],
    [{ model: 'mlp', modelParams: { depth: 0 } }, /^cfg: modelParams: model mlp: depth: /],
    [{ model: 'mnist-cnn', modelParams: { depth: 2 } }, /modelParams: model mnist-cnn: /],
  ];
  for (const [over, re] of bad)
    assert.throws(
      () => parseSweepConfig({ ...base, attacks: [{ name: 'badnets' }], ...over }, 'cfg'),
      (e: Error) => e instanceof PoisonlabError && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(over),
    );
});
