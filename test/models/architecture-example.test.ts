/**
 * docs/architecture.md's worked example ("Adding a model") is real code: its block is written beside the model
 * files it imports from, type-checked with the project's compiler settings, registered with the one line the doc
 * names, built, and read by the parts that ask the registry (counts, listing, feature hook, PyTorch export and
 * import).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { penultimateFeatures } from '../../src/defences/features.js';
import { registerModel } from '../../src/models/catalog.js';
import { countParams, createModel, estimateWeights, listModels } from '../../src/models/index.js';
import type { ModelSpec } from '../../src/models/spec.js';
import { loadTorchModel, saveTorchSafetensors, torchStateDict } from '../../src/train/torch-checkpoint.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

before(async () => {
  await initBackend({ quiet: true });
});

/** The ts block that follows the heading `## Adding a model` in docs/architecture.md. */
function exampleBlock(): string {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Adding a model'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'docs/architecture.md has a ts block under "Adding a model"');
  return m[1]!;
}

test("docs/architecture.md's model example compiles, registers in one line and is built, listed and exported", async () => {
  // Beside the model files, so that its relative imports are the doc's (a name git and biome ignore: dot-prefixed).
  const file = join(ROOT, 'src', 'models', '.doc-example-one-conv.ts');
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-model-example-'));
  writeFileSync(file, exampleBlock());
  try {
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file || d.file === undefined)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(errors, [], 'the example type-checks in strict mode');

    const { oneConv } = (await import(file)) as { oneConv: ModelSpec };
    registerModel(oneConv); // the one line the doc adds to src/models/catalog.ts
    assert.ok(listModels().some((e) => e.name === 'one-conv' && e.torch));
    const opts = { width: 8, inputShape: [12, 12, 1], numClasses: 10, seed: 0 };
    const model = createModel('one-conv', opts);
    assert.equal(countParams(model), (9 + 1) * 8 + 9 * 10);
    assert.equal(estimateWeights('one-conv', opts), countParams(model));
    const data = {
      name: 'zeros-and-ones',
      x: Float32Array.from({ length: 4 * 144 }, (_, i) => i % 2),
      y: Int32Array.from([0, 1, 2, 3]),
      sampleShape: [12, 12, 1],
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    } as Dataset;
    assert.equal(penultimateFeatures(model, data).dim, 8, 'the feature hook gives the m pooled values');
    assert.deepEqual(
      torchStateDict(model).map(([k]) => k),
      ['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias'],
    );
    const path = join(dir, 'one-conv.safetensors');
    saveTorchSafetensors(path, model);
    const back = loadTorchModel(path);
    assert.equal(back.name, 'one-conv');
    assert.deepEqual(
      back.model.getWeights().map((t) => Array.from(t.dataSync())),
      model.getWeights().map((t) => Array.from(t.dataSync())),
    );
    back.model.dispose();
    model.dispose();
  } finally {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
