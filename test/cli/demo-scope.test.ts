/** What `poisonlab demo` says on the terminal about what it shows and what it cannot show. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoScopeLines } from '../../src/cli/commands/demo.js';
import { getPreset } from '../../src/experiments/presets.js';

test("the demo's two lines: the cut it runs, and the paper's U it cannot show", () => {
  const [shows, cannot] = demoScopeLines(getPreset('quick'));
  assert.match(
    shows!,
    /^what the demo shows: .*3,000 training images, 2 runs per width, 3 widths, 10 to 10,000/,
  );
  assert.match(
    cannot!,
    /^what it cannot show: the paper's U \(60,000 images, .*widths to 100,000\); its numbers are not comparable/,
  );
});
