/**
 * The resumable state of a projected gradient ascent, saved at epoch boundaries: the perturbation delta after
 * the epoch's projection, the minibatch-order generator and the epochs done. A 60,000-image attack of 1,000
 * epochs runs for hours; with this file a killed attack continues from its last save with the same numbers as
 * an uninterrupted one (the next epoch's permutation comes from the saved generator, delta is bit-exact).
 */
import { existsSync, rmSync } from 'node:fs';
import { readNpz, writeNpz } from '../io/npz.js';
import { PoisonlabError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

/** Version of the layout (meta.version). */
export const ASCENT_STATE_VERSION = 1;

/** Where and how often an ascent saves its state. */
export interface AscentCheckpoint {
  /** The .npz file (written atomically: a crash leaves the previous save or none). */
  path: string;
  /** Identifies the attack, its settings, data and surrogate; a file with another fingerprint is ignored. */
  fingerprint: string;
  /** Seconds between saves, at epoch ends (default 60; 0 saves after every epoch). */
  everySeconds?: number;
}

/** The ascent after `epoch` finished epochs. */
export interface AscentState {
  epoch: number;
  /** delta, flat, in sample order (n x sample size). */
  delta: Float32Array;
  rng: ReturnType<Rng['getState']>;
  /** States of further generators the steps draw from (a 'train'-mode surrogate's dropout masks), in order. */
  streams: ReturnType<Rng['getState']>[];
  /** Seconds spent in the ascent so far, over all its pieces. */
  seconds: number;
}

interface AscentMeta {
  kind: 'poisonlab-ascent-state';
  version: number;
  fingerprint: string;
  epoch: number;
  rng: AscentState['rng'];
  /** Absent in saves without further generators. */
  streams?: AscentState['streams'];
  seconds: number;
}

/** Write `s` to the checkpoint file. */
export function saveAscentState(c: AscentCheckpoint, s: AscentState): void {
  const meta: AscentMeta = {
    kind: 'poisonlab-ascent-state',
    version: ASCENT_STATE_VERSION,
    fingerprint: c.fingerprint,
    epoch: s.epoch,
    rng: s.rng,
    ...(s.streams.length > 0 && { streams: s.streams }),
    seconds: s.seconds,
  };
  writeNpz(c.path, { delta: { data: s.delta, shape: [s.delta.length] } }, meta);
}

/**
 * The saved state for this attack, or undefined when there is none or it belongs to another attack (other
 * settings, data or surrogate: the attack starts from epoch 0 and the file is overwritten at its first save).
 * `size` is the number of floats delta must hold; an unreadable or inconsistent file is a one-line error that
 * says how to start over.
 */
export function loadAscentState(c: AscentCheckpoint, size: number): AscentState | undefined {
  if (!existsSync(c.path)) return undefined;
  const startOver = 'delete it to start the attack from epoch 0';
  let meta: AscentMeta;
  let delta: unknown;
  try {
    const r = readNpz(c.path);
    meta = r.meta as AscentMeta;
    delta = r.arrays['delta']?.data;
  } catch (e) {
    throw new PoisonlabError(
      `${c.path}: unreadable attack checkpoint (${(e as Error).message}); ${startOver}`,
    );
  }
  if (meta?.kind !== 'poisonlab-ascent-state' || meta.version !== ASCENT_STATE_VERSION)
    throw new PoisonlabError(
      `${c.path}: not a poisonlab attack checkpoint (expected meta.kind 'poisonlab-ascent-state' version ${ASCENT_STATE_VERSION}); ${startOver}`,
    );
  if (meta.fingerprint !== c.fingerprint) return undefined;
  if (!(delta instanceof Float32Array) || delta.length !== size)
    throw new PoisonlabError(
      `${c.path}: attack checkpoint entry 'delta' should be ${size} float32 values; ${startOver}`,
    );
  if (
    !Number.isInteger(meta.epoch) ||
    meta.epoch < 0 ||
    !Array.isArray(meta.rng?.s) ||
    meta.rng.s.length !== 4
  )
    throw new PoisonlabError(
      `${c.path}: attack checkpoint has no valid epoch or generator state; ${startOver}`,
    );
  return {
    epoch: meta.epoch,
    delta,
    rng: meta.rng,
    streams: meta.streams ?? [],
    seconds: Number(meta.seconds) || 0,
  };
}

/** Remove the checkpoint (the attack finished and its poison is written). */
export function removeAscentState(c: AscentCheckpoint): void {
  rmSync(c.path, { force: true });
}
