/** The report says which arithmetic the runs were computed with, and when it was not one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arithmeticMarkdown } from '../../src/report/arithmetic.js';
import { record } from '../results/fixtures.js';

test('one line per arithmetic with its runs; mixed ones are said to be mixed; none recorded, no section', () => {
  const own = 'wasm + native; gemm own packed AVX-512 (8x32); 1 thread(s)';
  const runs = [
    { ...record('h', 'a', 0.9), arithmetic: own },
    { ...record('h', 'b', 0.9), arithmetic: own },
    record('h', 'c', 0.9),
  ];
  const md = arithmeticMarkdown(runs);
  assert.match(md, /## Arithmetic/);
  assert.match(md, /- wasm \+ native; gemm own packed AVX-512 \(8x32\); 1 thread\(s\): 2 run\(s\)/);
  assert.match(md, /- not recorded .*: 1 run\(s\)/);
  assert.match(md, /not all computed with one arithmetic/);
  assert.doesNotMatch(arithmeticMarkdown(runs.slice(0, 2)), /not all/);
  assert.equal(arithmeticMarkdown([record('h', 'c', 0.9)]), '');
});
