/**
 * How poisonlab's models correspond to PyTorch modules: the state_dict key of every weight and how its
 * layout differs. poisonlab runs NHWC with tfjs layouts; PyTorch runs NCHW:
 *
 * | weight | tfjs (poisonlab) | PyTorch |
 * |---|---|---|
 * | conv kernel | HWIO `[kh, kw, in, out]` | OIHW `[out, in, kh, kw]` |
 * | dense kernel | `[in, out]` | Linear `[out, in]` |
 * | dense kernel right after a flatten of an `[H, W, C]` map | rows in (h, w, c) order | columns in (c, h, w) order |
 * | biases, batch-norm scale / shift / running statistics | `[n]` | `[n]` |
 *
 * The layouts follow from the layer kinds, here, for every model. The names are each model's own: its spec's
 * `torch` (`module`, `canonicalKey`, `guess`; see spec.ts) in the model's file, e.g. mnist-cnn's are the
 * original study's (mnist_ntk.py `model_ntk`: conv1, conv2, fc1, fc2).
 */
import type * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors.js';
import { models } from './catalog.js';
import { modelSpec, torchModelNames } from './registry.js';
import { isChoice, type TorchModelGuess } from './spec.js';

export type { TorchModelGuess } from './spec.js';

/** How one weight's layout differs between poisonlab and PyTorch. */
export type TorchLayout =
  | { kind: 'conv' }
  | { kind: 'dense' }
  /** A dense kernel whose input is a flattened [h, w, c] map (PyTorch flattens it as c, h, w). */
  | { kind: 'flatten-dense'; map: [number, number, number] }
  | { kind: 'same' }
  /** BatchNorm2d's int64 `num_batches_tracked`: no poisonlab weight (written as 0, ignored on reading). */
  | { kind: 'batches-tracked' };

/** One PyTorch state_dict entry of a model. */
export interface TorchParam {
  /** The state_dict key, e.g. `fc1.weight`. */
  key: string;
  /** The tfjs weight (its originalName, e.g. `fc1/kernel`); absent for `num_batches_tracked`. */
  weight?: string;
  /** Shape of the tfjs weight (absent for `num_batches_tracked`). */
  tfjsShape?: number[];
  /** Shape of the PyTorch tensor. */
  torchShape: number[];
  layout: TorchLayout;
}

/** The PyTorch names of model `resolved`; a one-line error when it has none. */
function torchNames(resolved: string) {
  const names = modelSpec(resolved).torch;
  check(names, `model ${resolved}: no PyTorch counterpart (expected one of ${torchModelNames().join(', ')})`);
  return names;
}

/** Accepted spellings of PyTorch keys other than the model's own, mapped to them (its spec's `canonicalKey`). */
export function canonicalTorchKey(resolved: string, key: string): string {
  return torchNames(resolved).canonicalKey?.(key) ?? key;
}

const BN_WEIGHTS: Record<string, string> = {
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

/**
 * Every PyTorch state_dict entry of `model` (built by createModel as `resolved`), in the order PyTorch's
 * state_dict lists them for the original module (registration order: layer by layer, weight before bias,
 * batch norm's weight, bias, running_mean, running_var, num_batches_tracked).
 */
export function torchParams(model: tf.LayersModel, resolved: string): TorchParam[] {
  const names = torchNames(resolved);
  const moduleName = (layer: string) => names.module?.(layer) ?? layer;
  const out: TorchParam[] = [];
  let flattened: number[] | undefined; // input shape of the flatten layer feeding the next dense layer
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Flatten') {
      flattened = (layer.input as tf.SymbolicTensor).shape.slice(1) as number[];
      continue;
    }
    if (/Dropout/.test(cls)) continue;
    const mod = moduleName(layer.name);
    const weights = layer.weights;
    if (cls === 'Conv2D') {
      for (const w of weights) {
        const s = w.shape as number[];
        const isKernel = w.originalName.endsWith('/kernel');
        out.push({
          key: `${mod}.${isKernel ? 'weight' : 'bias'}`,
          weight: w.originalName,
          tfjsShape: s,
          torchShape: isKernel ? [s[3]!, s[2]!, s[0]!, s[1]!] : s,
          layout: isKernel ? { kind: 'conv' } : { kind: 'same' },
        });
      }
    } else if (cls === 'Dense') {
      for (const w of weights) {
        const s = w.shape as number[];
        const isKernel = w.originalName.endsWith('/kernel');
        const map = flattened?.length === 3 ? (flattened as [number, number, number]) : undefined;
        out.push({
          key: `${mod}.${isKernel ? 'weight' : 'bias'}`,
          weight: w.originalName,
          tfjsShape: s,
          torchShape: isKernel ? [s[1]!, s[0]!] : s,
          layout: !isKernel ? { kind: 'same' } : map ? { kind: 'flatten-dense', map } : { kind: 'dense' },
        });
      }
    } else if (cls === 'BatchNormalization') {
      for (const w of weights) {
        const suffix = w.originalName.split('/').pop()!;
        out.push({
          key: `${mod}.${BN_WEIGHTS[suffix] ?? suffix}`,
          weight: w.originalName,
          tfjsShape: w.shape as number[],
          torchShape: w.shape as number[],
          layout: { kind: 'same' },
        });
      }
      out.push({ key: `${mod}.num_batches_tracked`, torchShape: [], layout: { kind: 'batches-tracked' } });
    } else {
      check(
        weights.length === 0,
        `model ${resolved}: layer ${layer.name} (${cls}) has weights but no PyTorch mapping`,
      );
    }
    flattened = undefined;
  }
  return out;
}

/** A tfjs-layout weight (row-major, shape `p.tfjsShape`) rearranged into PyTorch's layout. */
export function toTorchLayout(p: TorchParam, data: Float32Array): Float32Array {
  return permute(p, data, true);
}

/** A PyTorch-layout tensor (row-major, shape `p.torchShape`) rearranged into the tfjs layout. */
export function fromTorchLayout(p: TorchParam, data: Float32Array): Float32Array {
  return permute(p, data, false);
}

/**
 * Move every element between the two layouts: for each tfjs index `t` and its PyTorch index `q`,
 * out[q] = in[t] (toTorch) or out[t] = in[q] (fromTorch).
 */
function permute(p: TorchParam, data: Float32Array, toTorch: boolean): Float32Array {
  const { layout } = p;
  if (layout.kind === 'same' || layout.kind === 'batches-tracked') return Float32Array.from(data);
  const s = p.tfjsShape!;
  const out = new Float32Array(data.length);
  const move = (t: number, q: number) => {
    if (toTorch) out[q] = data[t]!;
    else out[t] = data[q]!;
  };
  if (layout.kind === 'conv') {
    // tfjs [kh, kw, I, O] <-> PyTorch [O, I, kh, kw]
    const [kh, kw, ci, co] = s as [number, number, number, number];
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++)
            move(((y * kw + x) * ci + i) * co + o, ((o * ci + i) * kh + y) * kw + x);
    return out;
  }
  const [rows, cols] = s as [number, number];
  if (layout.kind === 'dense') {
    // tfjs [I, O] <-> PyTorch [O, I]
    for (let i = 0; i < rows; i++) for (let o = 0; o < cols; o++) move(i * cols + o, o * rows + i);
    return out;
  }
  // flatten-dense: tfjs row (h, w, c) <-> PyTorch column (c, h, w)
  const [h, w, c] = layout.map;
  check(h * w * c === rows, `${p.key}: flattened map [${layout.map}] does not give ${rows} inputs`);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) {
        const row = (y * w + x) * c + k;
        const col = (k * h + y) * w + x;
        for (let o = 0; o < cols; o++) move(row * cols + o, o * rows + col);
      }
  return out;
}

/**
 * Recognise which poisonlab model a PyTorch state_dict (keys -> shapes, keys as written) holds, from its keys
 * and shapes: the first spec, in registration order, whose `torch.guess` knows it; undefined when none does.
 */
export function guessTorchModel(shapes: ReadonlyMap<string, readonly number[]>): TorchModelGuess | undefined {
  for (const e of models.list()) {
    if (isChoice(e)) continue;
    const guess = e.torch?.guess?.(shapes);
    if (guess) return guess;
  }
  return undefined;
}
