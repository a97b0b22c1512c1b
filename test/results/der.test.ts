/** BackdoorBench's DER and its pairing of defended runs with their undefended twins. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defenceEffectivenessRating,
  type RunRecord,
  withDefenceEffectiveness,
} from '../../src/results/index.js';
import { runRecord } from './fixtures.js';

test('DER = [max(0, dASR) - max(0, dAcc) + 1] / 2', () => {
  // backdoor removed (ASR 0.9 -> 0.1) at 2 points of clean accuracy
  assert.ok(
    Math.abs(defenceEffectivenessRating({ accuracy: 0.95, asr: 0.9 }, { accuracy: 0.93, asr: 0.1 }) - 0.89) <
      1e-12,
  );
  // no effect
  assert.equal(defenceEffectivenessRating({ accuracy: 0.9, asr: 0.5 }, { accuracy: 0.9, asr: 0.5 }), 0.5);
  // a defence that raises ASR and accuracy: both clipped at 0
  assert.equal(defenceEffectivenessRating({ accuracy: 0.8, asr: 0.2 }, { accuracy: 0.9, asr: 0.4 }), 0.5);
  // a defence that only costs accuracy
  assert.equal(defenceEffectivenessRating({ accuracy: 0.9, asr: 0.5 }, { accuracy: 0.5, asr: 0.5 }), 0.3);
});

function run(label: string, width: number, acc: number, asr?: number): RunRecord {
  return runRecord(label, width, acc, asr === undefined ? {} : { metrics: { attackSuccessRate: asr } });
}

test('defended runs are paired with the undefended run of their width; others are left alone', () => {
  const runs = [
    run('clean', 10, 0.9),
    run('badnets', 10, 0.9, 0.8),
    run('badnets+iss', 10, 0.85, 0.2),
    run('badnets+iss', 100, 0.85, 0.2),
    run('ops+iss', 10, 0.5),
  ];
  const out = withDefenceEffectiveness(runs);
  assert.ok(Math.abs(out[2]!.metrics!['defenceEffectivenessRating']! - (0.6 - 0.05 + 1) / 2) < 1e-12);
  assert.equal(out[3]!.metrics!['defenceEffectivenessRating'], undefined, 'no undefended twin at width 100');
  assert.equal(out[4]!.metrics!['defenceEffectivenessRating'], undefined, 'availability: no ASR');
  assert.equal(out[0], runs[0]);
});
