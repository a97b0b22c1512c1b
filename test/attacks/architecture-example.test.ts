/**
 * docs/architecture.md's worked example ("Adding an attack") is real code: its block is written beside the
 * backdoors it imports from, type-checked with the project's compiler settings, registered with the one line the
 * doc names, and run on real MNIST images.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { createRegisteredAttack, listAttacks, registerAttack } from '../../src/attacks/index.js';
import type { AttackEntry } from '../../src/attacks/registry.js';
import { mnistSlice } from './fixtures.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The ts block that follows the heading `## Adding an attack` in docs/architecture.md. */
function exampleBlock(): string {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Adding an attack'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'docs/architecture.md has a ts block under "Adding an attack"');
  return m[1]!;
}

test("docs/architecture.md's worked example compiles, registers in one line and poisons as its text says", async () => {
  // Beside the backdoors, so that its relative imports are the doc's (a name git and biome ignore: dot-prefixed).
  const file = join(ROOT, 'src', 'attacks', 'backdoor', '.doc-example-one-pixel.ts');
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

    const { onePixel } = (await import(file)) as { onePixel: AttackEntry };
    registerAttack(onePixel); // the one line the doc adds to src/attacks/catalog.ts
    assert.ok(listAttacks().some((e) => e.name === 'one-pixel'));
    const data = mnistSlice(200);
    const attack = createRegisteredAttack('one-pixel', { target: 3, rate: 0.1, row: 2, col: 5, seed: 1 });
    const r = await attack.poison(data);
    const changed = [...r.poisonMask.keys()].filter((i) => r.poisonMask[i] === 1);
    assert.equal(changed.length, 20, 'round(rate n) samples');
    for (const i of changed) {
      assert.notEqual(data.y[i], 3, 'chosen among samples not of the target class');
      assert.equal(r.dataset.y[i], 3, 'relabelled to the target');
      assert.equal(r.dataset.x[i * 784 + 2 * 28 + 5], 1, 'the trigger pixel is white');
    }
    const stamped = attack.trigger!.apply(data);
    assert.deepEqual(stamped.y, data.y, 'the trigger leaves labels alone');
  } finally {
    rmSync(file, { force: true });
  }
});
