import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';

const PROBE = 'test/backend/fixtures/registry-probe.ts';

interface Probe {
  kernels: Record<string, string>;
  gradients: Record<string, unknown>;
  flags: Record<string, unknown>;
  backend?: string;
  reluGradCpu?: string;
  reluGradWasm?: string;
  projectGradients?: string[];
  reluGradKernelWasm?: boolean;
}

/** Runs the probe in a fresh process (tfjs alone, the package imported, or the backend initialised). */
function probe(mode: 'baseline' | 'import' | 'init'): Probe {
  const res = spawnSync(process.execPath, ['--import', 'tsx', PROBE, mode], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as Probe;
}

describe("tfjs's registries in a fresh process", () => {
  const baseline = probe('baseline');
  const imported = probe('import');
  const initialised = probe('init');

  test('importing the package changes no cpu kernel, no gradient and no flag', () => {
    assert.ok(Object.keys(baseline.kernels).includes('Relu'));
    assert.ok(baseline.gradients.Relu !== null);
    assert.deepEqual(imported.kernels, baseline.kernels);
    assert.deepEqual(imported.gradients, baseline.gradients);
    assert.deepEqual(imported.flags, baseline.flags);
  });

  test("initBackend leaves the cpu kernels alone and the cpu backend keeps tfjs's own Relu gradient", () => {
    assert.equal(initialised.backend, 'wasm');
    assert.deepEqual(initialised.kernels, baseline.kernels);
    // tfjs's formula dy * step(x) gives NaN for dy = NaN at x < 0; the project's kernel gives 0
    assert.equal(initialised.reluGradCpu, 'NaN');
    assert.equal(initialised.reluGradWasm, '0');
    const changed = Object.keys(baseline.gradients).filter(
      (name) => JSON.stringify(baseline.gradients[name]) !== JSON.stringify(initialised.gradients[name]),
    );
    assert.deepEqual(changed.sort(), ['PoisonlabConv2DBias', 'PoisonlabDenseBias', 'PoisonlabLoss', 'Relu']);
  });

  test("after initBackend the project's backend has its kernels and their gradients", () => {
    assert.equal(initialised.reluGradKernelWasm, true);
    assert.deepEqual(initialised.projectGradients, [
      'PoisonlabConv2DBias',
      'PoisonlabDenseBias',
      'PoisonlabLoss',
    ]);
  });
});
