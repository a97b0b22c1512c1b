/**
 * PyTorch weights in and out of poisonlab models: a state_dict read from a `.pth` (./io/pth.ts) or a
 * `.safetensors` file (./io/safetensors.ts) becomes a model built by createModel, and a model becomes a
 * `.safetensors` state_dict with the original study's module names and PyTorch layouts (see
 * ../models/torch-names.ts for the names and layouts), which `model.load_state_dict(load_file(path))`
 * accepts for the original architecture.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readPth } from '../io/pth.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { float32Tensor, int64Tensor, type RawTensor, toFloat32 } from '../io/tensor.js';
import type { InputNormalizationSpec } from '../models/normalize.js';
import {
  createModel,
  isWidthScaled,
  modelChoices,
  modelInfo,
  modelSpec,
  resolveName,
  torchModelNames,
} from '../models/registry.js';
import {
  canonicalTorchKey,
  fromTorchLayout,
  guessTorchModel,
  torchParams,
  toTorchLayout,
} from '../models/torch-names.js';
import { check, fileSystemError, PoisonlabError } from '../util/errors.js';
import { type CheckpointMeta, loadCheckpoint } from './checkpoint.js';

/** The weight files poisonlab reads: its own checkpoints, PyTorch checkpoints, safetensors. */
export type WeightsFormat = 'npz' | 'pth' | 'safetensors';

const PTH_EXTENSIONS = ['.pth', '.pt', '.bin', '.ckpt'];

/**
 * The format of a weights file: from its extension (.npz; .pth, .pt, .bin, .ckpt; .safetensors), else from its
 * first bytes (a file saved without a suffix, e.g. `--out surx`): a zip whose first entry is a pickle
 * (`.../data.pkl`, what torch.save writes first) is a PyTorch file, any other zip an .npz; a pickle's protocol
 * byte 0x80 is a legacy PyTorch file; an 8-byte header length followed by '{' is safetensors.
 */
export function weightsFormat(path: string): WeightsFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.npz') return 'npz';
  if (ext === '.safetensors') return 'safetensors';
  if (PTH_EXTENSIONS.includes(ext)) return 'pth';
  const sniffed = sniffWeightsFormat(path);
  if (sniffed) return sniffed;
  throw new PoisonlabError(
    `${path}: unknown weights file type '${ext}' (expected .npz (poisonlab checkpoint), ` +
      `${PTH_EXTENSIONS.join(', ')} (PyTorch state_dict) or .safetensors, by suffix or by content)`,
  );
}

/** The weights format the first bytes of a file say, if any (see weightsFormat). */
function sniffWeightsFormat(path: string): WeightsFormat | undefined {
  if (!existsSync(path)) return undefined; // the suffix decides the message
  const head = Buffer.alloc(512);
  let got = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      got = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw fileSystemError(e, { path, expected: 'a weights file' }) ?? e;
  }
  if (got >= 30 && head.readUInt32LE(0) === 0x04034b50) {
    // zip: the first local file header's name (length at byte 26, name from byte 30)
    const nameLength = head.readUInt16LE(26);
    const name = head.subarray(30, Math.min(got, 30 + nameLength)).toString('latin1');
    return name.endsWith('.pkl') ? 'pth' : 'npz';
  }
  if (got >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return 'pth';
  if (got >= 9 && head[8] === 0x7b && head.readBigUInt64LE(0) < BigInt(100_000_000)) return 'safetensors';
  return undefined;
}

/** What the caller knows about the model a file holds (all optional; the file's own word and shapes fill the rest). */
export interface ModelHints {
  /** Registry name ('cnn' resolves by the input shape or the file). */
  model?: string;
  width?: number;
  /** One sample's shape (NHWC images), e.g. the dataset's. */
  inputShape?: readonly number[];
  numClasses?: number;
  /** The model's own parameters (its spec's schema, e.g. mlp's depth); absent: the file's word or shapes, else defaults. */
  params?: Record<string, unknown>;
  /** Seed of the parts a file does not set (AlexNet's dropout masks); default 0. */
  seed?: number;
  /**
   * The input normalisation the weights expect (the model's first layer, see models/normalize.ts): a spec, or null
   * for raw pixels. Absent: what a poisonlab-written file declares (`poisonlab.normalize`), else raw pixels.
   */
  normalize?: InputNormalizationSpec | null;
}

/** A model loaded from any weights file. */
export interface LoadedModel {
  model: tf.LayersModel;
  /** The concrete architecture, e.g. 'mnist-cnn'. */
  name: string;
  /** Width of width-scaled models, else undefined. */
  width?: number;
  format: WeightsFormat;
  /** The poisonlab metadata the file carries: an .npz checkpoint's meta, or a poisonlab-written safetensors' `poisonlab.meta`. */
  meta?: Record<string, unknown>;
}

/** PyTorch tensors read from a .pth or .safetensors file. */
export interface TorchWeights {
  tensors: Map<string, RawTensor>;
  format: 'pth' | 'safetensors';
  /** The safetensors header's string metadata (empty for .pth). */
  metadata: Record<string, string>;
}

/** Read the state_dict of a .pth / .pt / .bin / .ckpt or .safetensors file. */
export function readTorchWeights(path: string): TorchWeights {
  const format = weightsFormat(path);
  check(
    format !== 'npz',
    `${path}: a poisonlab checkpoint, not a PyTorch state_dict (expected .pth or .safetensors)`,
  );
  if (format === 'safetensors') return { ...readSafetensors(path), format };
  return { tensors: readPth(path).tensors, format, metadata: {} };
}

/** The model a poisonlab-written safetensors declares in its metadata (`poisonlab.*`). */
function declaredModel(
  metadata: Record<string, string>,
  what: string,
): ModelHints & { meta?: Record<string, unknown> } {
  const out: ModelHints & { meta?: Record<string, unknown> } = {};
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]!);
    } catch {
      throw new PoisonlabError(
        `${what}: metadata '${key}' is not valid JSON (expected what poisonlab writes)`,
      );
    }
  };
  const int = (key: string): number => {
    const v = Number(metadata[key]);
    check(
      Number.isInteger(v) && v >= 1,
      `${what}: metadata '${key}' is '${metadata[key]}', expected a positive integer`,
    );
    return v;
  };
  if (metadata['poisonlab.model'] !== undefined) out.model = metadata['poisonlab.model'];
  if (metadata['poisonlab.width'] !== undefined) out.width = int('poisonlab.width');
  if (metadata['poisonlab.numClasses'] !== undefined) out.numClasses = int('poisonlab.numClasses');
  if (metadata['poisonlab.inputShape'] !== undefined) {
    const shape = json('poisonlab.inputShape');
    check(
      Array.isArray(shape) && shape.length > 0 && shape.every((s) => Number.isInteger(s) && s >= 1),
      `${what}: metadata 'poisonlab.inputShape' is ${metadata['poisonlab.inputShape']}, expected a list of positive integers`,
    );
    out.inputShape = shape as number[];
  }
  if (metadata['poisonlab.normalize'] !== undefined) {
    const n = metadata['poisonlab.normalize'] === 'none' ? null : json('poisonlab.normalize');
    check(
      n === null ||
        (typeof n === 'object' &&
          Array.isArray((n as InputNormalizationSpec).mean) &&
          Array.isArray((n as InputNormalizationSpec).std)),
      `${what}: metadata 'poisonlab.normalize' is ${metadata['poisonlab.normalize']}, expected 'none' or {"mean": [...], "std": [...]}`,
    );
    out.normalize = n as InputNormalizationSpec | null;
  }
  if (metadata['poisonlab.params'] !== undefined) {
    const params = json('poisonlab.params');
    check(
      typeof params === 'object' && params !== null && !Array.isArray(params),
      `${what}: metadata 'poisonlab.params' is not a JSON object (expected what poisonlab writes)`,
    );
    out.params = params as Record<string, unknown>;
  }
  if (metadata['poisonlab.meta'] !== undefined) {
    const meta = json('poisonlab.meta');
    check(
      typeof meta === 'object' && meta !== null && !Array.isArray(meta),
      `${what}: metadata 'poisonlab.meta' is not a JSON object (expected what poisonlab writes)`,
    );
    out.meta = meta as Record<string, unknown>;
  }
  return out;
}

const describe = (name: string, width: number | undefined, inputShape: readonly number[], k: number) =>
  `${name}${width !== undefined ? ` width ${width}` : ''} (input [${inputShape}], ${k} classes)`;

function listKeys(keys: string[]): string {
  const shown = keys.slice(0, 4).map((k) => `'${k}'`);
  return shown.join(', ') + (keys.length > 4 ? ` and ${keys.length - 4} more` : '');
}

/**
 * Build the poisonlab model a PyTorch state_dict holds and set its weights. The model is, in order of
 * precedence: `hints` (what the caller was told, e.g. --model / --width and the dataset's input shape and
 * classes), `declared` (a poisonlab-written file's own word), and what the keys and shapes say. Keys are
 * matched strictly, as `load_state_dict` does: a missing or unexpected key, a shape or a non-float weight
 * is a one-line error naming `what`.
 */
export function modelFromStateDict(
  tensors: ReadonlyMap<string, RawTensor>,
  hints: ModelHints,
  what: string,
  declared: ModelHints = {},
): { model: tf.LayersModel; name: string; width?: number } {
  // DataParallel saves every key under 'module.'.
  const keys = [...tensors.keys()];
  const strip = keys.length > 0 && keys.every((k) => k.startsWith('module.'));
  const byKey = new Map<string, RawTensor>();
  for (const [k, t] of tensors) byKey.set(strip ? k.slice('module.'.length) : k, t);
  const guess = guessTorchModel(new Map([...byKey].map(([k, t]) => [k, t.shape])));

  const asked = hints.model ?? declared.model;
  let name: string;
  let choices: readonly string[] = [];
  if (asked !== undefined) {
    try {
      choices = modelChoices(asked);
    } catch {
      choices = [asked]; // unknown: refused below as a model without a PyTorch mapping
    }
  }
  if (choices.length > 1) {
    // a name that stands for several ('cnn'): the input shape decides, else the file's shapes, else the first
    const shape = hints.inputShape ?? declared.inputShape;
    try {
      name = shape
        ? resolveName(asked!, shape)
        : guess && choices.includes(guess.model)
          ? guess.model
          : choices[0]!;
    } catch (e) {
      throw e instanceof PoisonlabError ? new PoisonlabError(`${what}: ${e.message}`) : e;
    }
  } else if (asked !== undefined) {
    name = choices[0]!;
  } else {
    check(
      guess,
      `${what}: cannot tell which model this state_dict holds (keys ${listKeys(keys)}); ` +
        `expected --model <one of ${torchModelNames().join(', ')}>`,
    );
    name = guess.model;
  }
  check(
    torchModelNames().includes(name),
    `${what}: model '${name}' has no PyTorch mapping (expected one of ${torchModelNames().join(', ')})`,
  );
  const fits = guess?.model === name;
  const width = isWidthScaled(name)
    ? (hints.width ?? declared.width ?? (fits ? guess.width : undefined))
    : undefined;
  const params = hints.params ?? declared.params ?? (fits ? guess.params : undefined);
  const inputShape = [
    ...(hints.inputShape ??
      declared.inputShape ??
      (fits ? guess.inputShape : undefined) ??
      modelSpec(name).inputShape ??
      []),
  ];
  check(inputShape.length > 0, `${what}: the input shape of ${name} is unknown (expected --input-shape)`);
  const numClasses = hints.numClasses ?? declared.numClasses ?? (fits ? guess.numClasses : 10);
  const desc = describe(name, width, inputShape, numClasses);
  const normalize = hints.normalize !== undefined ? hints.normalize : declared.normalize;
  let model: tf.LayersModel;
  try {
    model = createModel(name, {
      ...(width !== undefined && { width }),
      inputShape,
      numClasses,
      seed: hints.seed ?? 0,
      ...(normalize && { normalize }),
      ...(params && { params }),
    });
  } catch (e) {
    if (e instanceof PoisonlabError) throw new PoisonlabError(`${what}: ${e.message}`);
    throw e;
  }
  const values: tf.Tensor[] = [];
  try {
    const params = torchParams(model, name);
    // The file's keys in the original's spelling (other accepted spellings mapped onto it).
    const file = new Map<string, RawTensor>();
    for (const [k, t] of byKey) {
      const c = canonicalTorchKey(name, k);
      check(!file.has(c), `${what}: keys '${k}' and another both stand for '${c}' (expected one)`);
      file.set(c, t);
    }
    const expected = new Set(params.map((p) => p.key));
    const missing = params
      .filter((p) => p.layout.kind !== 'batches-tracked' && !file.has(p.key))
      .map((p) => p.key);
    const unexpected = [...file.keys()].filter((k) => !expected.has(k));
    if (missing.length > 0 || unexpected.length > 0) {
      const parts = [
        ...(missing.length > 0 ? [`missing ${listKeys(missing)}`] : []),
        ...(unexpected.length > 0 ? [`unexpected ${listKeys(unexpected)}`] : []),
      ];
      const looks = guess && guess.model !== name ? `; its keys look like ${guess.model}` : '';
      throw new PoisonlabError(
        `${what}: not a state_dict of ${desc}: ${parts.join('; ')}${looks} ` +
          `(expected exactly the keys ${listKeys(params.map((p) => p.key))})`,
      );
    }
    const variables = new Map(model.weights.map((w) => [w.originalName, w]));
    const writes: [tf.LayerVariable, tf.Tensor][] = [];
    for (const p of params) {
      const t = file.get(p.key);
      if (!t) continue; // an absent num_batches_tracked
      const shapeOk =
        t.shape.length === p.torchShape.length && t.shape.every((s, i) => s === p.torchShape[i]);
      check(
        shapeOk,
        `${what}: '${p.key}' has shape [${t.shape}], expected [${p.torchShape}] for ${desc}` +
          (guess?.model === name && guess.width !== undefined && guess.width !== width
            ? ` (the file's shapes say width ${guess.width})`
            : ''),
      );
      if (p.layout.kind === 'batches-tracked') {
        check(['I64', 'I32'].includes(t.dtype), `${what}: '${p.key}' is ${t.dtype}, expected an integer`);
        continue;
      }
      check(
        ['F32', 'F64', 'F16', 'BF16'].includes(t.dtype),
        `${what}: '${p.key}' is ${t.dtype}, expected a float tensor (F32, F64, F16 or BF16)`,
      );
      const data = fromTorchLayout(p, toFloat32(t));
      const value = tf.tensor(data, p.tfjsShape!, 'float32');
      values.push(value);
      writes.push([variables.get(p.weight!)!, value]);
    }
    for (const [v, value] of writes) v.write(value);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const v of values) v.dispose();
  }
  return { model, name, ...(width !== undefined && { width }) };
}

/** Load a .pth / .safetensors state_dict as a poisonlab model (see modelFromStateDict). */
export function loadTorchModel(path: string, hints: ModelHints = {}): LoadedModel {
  const { tensors, format, metadata } = readTorchWeights(path);
  const declared = declaredModel(metadata, path);
  const loaded = modelFromStateDict(tensors, hints, path, declared);
  return { ...loaded, format, ...(declared.meta && { meta: declared.meta }) };
}

/**
 * Load a model from any weights file: a poisonlab .npz checkpoint (its meta says the model) or a
 * PyTorch .pth / .safetensors state_dict (see modelFromStateDict). Hints that contradict an .npz
 * checkpoint (another model, width, input shape or class count) are one-line errors.
 */
export function loadModelFile(path: string, hints: ModelHints = {}): LoadedModel {
  if (weightsFormat(path) !== 'npz') return loadTorchModel(path, hints);
  const { model, meta } = loadCheckpoint(path);
  const info = modelInfo(model)!;
  const name = info.resolved;
  const width = isWidthScaled(name) ? info.options.width : undefined;
  const problems: string[] = [];
  if (hints.model !== undefined) {
    const asked = resolveName(hints.model, info.options.inputShape);
    if (asked !== name) problems.push(`it holds ${name}, not ${asked}`);
  }
  if (hints.width !== undefined && width !== undefined && hints.width !== width)
    problems.push(`its width is ${width}, not ${hints.width}`);
  if (hints.inputShape && hints.inputShape.join(',') !== info.options.inputShape.join(','))
    problems.push(`its input shape is [${info.options.inputShape}], not [${hints.inputShape}]`);
  if (hints.numClasses !== undefined && hints.numClasses !== info.options.numClasses)
    problems.push(`it has ${info.options.numClasses} classes, not ${hints.numClasses}`);
  if (problems.length > 0) {
    model.dispose();
    throw new PoisonlabError(
      `${path}: ${problems.join('; ')} (expected a checkpoint of the model asked for)`,
    );
  }
  return { model, name, ...(width !== undefined && { width }), format: 'npz', meta: meta as CheckpointMeta };
}

/**
 * The PyTorch state_dict of a model built by createModel: the original study's keys, PyTorch layouts,
 * float32 (and int64 `num_batches_tracked` = 0 for batch norm), in state_dict order.
 */
export function torchStateDict(model: tf.LayersModel): [string, RawTensor][] {
  const info = modelInfo(model);
  check(info, 'torch export: the model was not built by createModel (expected a poisonlab model)');
  const variables = new Map(model.weights.map((w) => [w.originalName, w]));
  return torchParams(model, info.resolved).map((p): [string, RawTensor] => {
    if (p.layout.kind === 'batches-tracked') return [p.key, int64Tensor([0], [])];
    const data = variables.get(p.weight!)!.read().dataSync() as Float32Array;
    return [p.key, float32Tensor(toTorchLayout(p, data), p.torchShape)];
  });
}

/**
 * Save a model as a .safetensors PyTorch state_dict. Its metadata says what the file holds (`format: pt`,
 * `poisonlab.model`, `poisonlab.width`, `poisonlab.inputShape`, `poisonlab.numClasses`, and
 * `poisonlab.normalize`: 'none', or the JSON {mean, std} the weights expect their input normalised with, as
 * `transforms.Normalize(mean, std)` before the module in PyTorch) and carries
 * `meta` (e.g. a checkpoint's or surrogate's metadata) as JSON in `poisonlab.meta`. Returns the number
 * of tensors written.
 */
export function saveTorchSafetensors(path: string, model: tf.LayersModel, meta?: object): number {
  const info = modelInfo(model);
  check(info, `${path}: cannot export a model that createModel did not build (expected a poisonlab model)`);
  const metadata: Record<string, string> = {
    format: 'pt',
    'poisonlab.model': info.resolved,
    'poisonlab.inputShape': JSON.stringify(info.options.inputShape),
    'poisonlab.numClasses': String(info.options.numClasses),
  };
  if (isWidthScaled(info.resolved)) metadata['poisonlab.width'] = String(info.options.width);
  if (info.options.params) metadata['poisonlab.params'] = JSON.stringify(info.options.params);
  metadata['poisonlab.normalize'] = info.options.normalize ? JSON.stringify(info.options.normalize) : 'none';
  if (meta !== undefined) metadata['poisonlab.meta'] = JSON.stringify(meta);
  const tensors = torchStateDict(model);
  writeSafetensors(path, tensors, metadata);
  return tensors.length;
}
