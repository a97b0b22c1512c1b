/**
 * The poisoned training set file: one `.npz` that `poisonlab poison` and a sweep's poison task write, and that
 * `--dataset x.npz` (./load.ts) and a sweep's training runs read. Entries:
 *
 * - `x` float32 (N, ...sampleShape): the poisoned samples, `y` int32 (N): their labels;
 * - `delta_norm` float32 (N): the l2 norm of each sample's perturbation (0 where untouched);
 * - `poison_mask` uint8 (N): 1 where the attack touched the sample (files written before it existed lack it);
 * - `meta` (JSON): `kind: 'poisonlab-poison'`, the attack, its params and report, and the clean source
 *   (`dataset`, `limit`, `classes`), whose test split is the clean test set of the poisoned one.
 */
import { basename } from 'node:path';
import { readNpz, readNpzMeta, writeNpz } from '../io/npz.js';
import { check } from '../util/errors.js';
import { type Dataset, numSamples, validateDataset } from './dataset.js';

/** What a poison file's `meta` says (beside what its writer adds: surrogate, sweep, ...). */
export interface PoisonFileMeta {
  kind: 'poisonlab-poison';
  /** Registry name of the attack. */
  attack: string;
  /** The paper's regime ('A', 'B', 'C') where the poison is one of them (null or the attack name otherwise). */
  regime: string | null;
  params: unknown;
  seed: number;
  /** The clean source's dataset spec, limit and binary task. */
  dataset: string;
  limit: number | null;
  classes?: string;
  sampleShape: number[];
  classNames: string[];
  /** The attack's report (budget, norms, budget spent, ...). */
  report: unknown;
  [more: string]: unknown;
}

/** A poison file as read: the poisoned training set, which samples the attack touched, and the meta. */
export interface PoisonFile {
  /** Named after the file. */
  data: Dataset;
  deltaNorm?: Float32Array;
  /** Absent in files written before the mask existed. */
  poisonMask?: Uint8Array;
  meta: PoisonFileMeta;
}

/** Write `poisoned` with its per-sample norms and mask; `meta` names the attack and the clean source. */
export function writePoisonFile(
  path: string,
  poisoned: Dataset,
  perSample: { deltaNorm: Float32Array; poisonMask: Uint8Array },
  meta: Omit<PoisonFileMeta, 'kind' | 'sampleShape' | 'classNames'>,
): void {
  const n = numSamples(poisoned);
  writeNpz(
    path,
    {
      x: { data: poisoned.x, shape: [n, ...poisoned.sampleShape] },
      y: { data: poisoned.y, shape: [n] },
      delta_norm: { data: perSample.deltaNorm, shape: [n] },
      poison_mask: { data: perSample.poisonMask, shape: [n] },
    },
    {
      kind: 'poisonlab-poison',
      ...meta,
      sampleShape: [...poisoned.sampleShape],
      classNames: [...poisoned.classNames],
    },
  );
}

/** The meta of a poison file (its source dataset, attack, ...) without reading its arrays; undefined if not one. */
export function readPoisonMeta(path: string): PoisonFileMeta | undefined {
  const meta = readNpzMeta(path) as Partial<PoisonFileMeta> | undefined;
  return meta?.kind === 'poisonlab-poison' ? (meta as PoisonFileMeta) : undefined;
}

/** Read and check a poison file; every problem is one line naming the file and what was expected. */
export function readPoisonFile(path: string): PoisonFile {
  const { arrays, meta } = readNpz(path);
  const x = arrays['x'];
  const y = arrays['y'];
  check(x, `${path}: expected an entry 'x' (N,H,W,C float32 samples), found [${Object.keys(arrays)}]`);
  check(y, `${path}: expected an entry 'y' (N integer labels), found [${Object.keys(arrays)}]`);
  check(
    x.data instanceof Float32Array || x.data instanceof Float64Array,
    `${path}: entry 'x' must be float32 samples`,
  );
  check(
    !(y.data instanceof Float32Array || y.data instanceof Float64Array),
    `${path}: entry 'y' must hold integers`,
  );
  check(x.shape.length >= 2, `${path}: entry 'x' has shape [${x.shape}], expected (N, H, W, C) or (N, d)`);
  check(
    x.shape[0] === y.data.length,
    `${path}: entry 'x' holds ${x.shape[0]} samples but 'y' holds ${y.data.length} labels`,
  );
  const m = meta as Partial<PoisonFileMeta> | undefined;
  check(
    m && typeof m.dataset === 'string' && Array.isArray(m.classNames),
    `${path}: expected JSON meta with 'dataset' (the clean source) and 'classNames'`,
  );
  const n = y.data.length;
  const data = validateDataset(
    {
      name: basename(path),
      x: x.data instanceof Float32Array ? x.data : Float32Array.from(x.data),
      y: y.data instanceof Int32Array ? y.data : Int32Array.from(y.data),
      sampleShape: x.shape.slice(1),
      classNames: m.classNames.map(String),
    },
    path,
  );
  const mask = arrays['poison_mask']?.data;
  const norms = arrays['delta_norm']?.data;
  return {
    data,
    ...(norms instanceof Float32Array && norms.length === n && { deltaNorm: norms }),
    ...(mask instanceof Uint8Array && mask.length === n && { poisonMask: mask }),
    meta: m as PoisonFileMeta,
  };
}
