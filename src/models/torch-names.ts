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
 * The PyTorch names are the original study's modules (yunjuanwang/robust_learning_for_data_poisoning_attack):
 *
 * - `mnist-cnn` (mnist_ntk.py `model_ntk`): conv1, conv2, fc1, fc2;
 * - `cifar-cnn` (cifar_ntk.py `model_ntk`): conv_1, conv_2, fc_1, fc_2, fc_3 (conv1 ... fc3 also read);
 * - `alexnet` (alexnet.py): features.0/3/6/8/10 (the convolutions), classifier.1/4/6 (the linears);
 * - `resnet18` (resnet.py): conv1, bn1, layer{1-4}.{0,1}.{conv1,bn1,conv2,bn2}, layer{2-4}.0.downsample.{0,1},
 *   fc (the CIFAR variant's `shortcut.` and `linear.` also read). The weights fit, but the original's
 *   resnet.py keeps ImageNet's 3x3 max pool after the stem, which poisonlab's CIFAR ResNet-18 (like the
 *   common CIFAR variant) has not, so the same weights compute a different function;
 * - `twolayer` (the theory's net, not in the original code): fc1 (`W`, `[m, d]`, no bias) and fc2
 *   (the fixed signs `a`, `[1, m]`, no bias); the PyTorch module must compute fc2(relu(fc1(x))) / sqrt(m).
 */
import type * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors.js';

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

/** The models with a PyTorch counterpart. */
export const TORCH_MODELS = ['mnist-cnn', 'cifar-cnn', 'alexnet', 'resnet18', 'twolayer'] as const;

const ALEXNET_MODULES: Record<string, string> = {
  conv1: 'features.0',
  conv2: 'features.3',
  conv3: 'features.6',
  conv4: 'features.8',
  conv5: 'features.10',
  fc1: 'classifier.1',
  fc2: 'classifier.4',
  fc3: 'classifier.6',
};

/** The PyTorch module name of a tfjs layer of model `resolved`. */
function moduleName(resolved: string, layer: string): string {
  switch (resolved) {
    case 'cifar-cnn':
      return layer.replace(/^(conv|fc)(\d)$/, '$1_$2');
    case 'alexnet':
      return ALEXNET_MODULES[layer] ?? layer;
    case 'resnet18':
      return layer
        .replace(/^(layer\d)_(\d)_scbn$/, '$1.$2.downsample.1')
        .replace(/^(layer\d)_(\d)_sc$/, '$1.$2.downsample.0')
        .replace(/^(layer\d)_(\d)_/, '$1.$2.');
    case 'twolayer':
      return layer === 'hidden' ? 'fc1' : layer === 'output' ? 'fc2' : layer;
    default:
      return layer;
  }
}

/** Accepted spellings of PyTorch keys other than the original's, mapped to them (see the module comment). */
export function canonicalTorchKey(resolved: string, key: string): string {
  switch (resolved) {
    case 'cifar-cnn':
      return key.replace(/^(conv|fc)(\d)\./, '$1_$2.');
    case 'resnet18':
      return key.replace(/\.shortcut\./, '.downsample.').replace(/^linear\./, 'fc.');
    default:
      return key;
  }
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
  check(
    (TORCH_MODELS as readonly string[]).includes(resolved),
    `model ${resolved}: no PyTorch counterpart (expected one of ${TORCH_MODELS.join(', ')})`,
  );
  const out: TorchParam[] = [];
  let flattened: number[] | undefined; // input shape of the flatten layer feeding the next dense layer
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Flatten') {
      flattened = (layer.input as tf.SymbolicTensor).shape.slice(1) as number[];
      continue;
    }
    if (/Dropout/.test(cls)) continue;
    const mod = moduleName(resolved, layer.name);
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

/** What the shapes of a PyTorch state_dict say about the model that wrote it. */
export interface TorchModelGuess {
  /** The poisonlab model, e.g. 'mnist-cnn'. */
  model: string;
  /** Width m of width-scaled models. */
  width?: number;
  numClasses: number;
  /** The input shape when the shapes fix it (twolayer: [d]); otherwise the model's usual one is assumed. */
  inputShape?: number[];
}

/**
 * Recognise which poisonlab model a PyTorch state_dict (keys -> shapes, keys already canonical for no
 * model in particular) holds, from its keys and shapes; undefined when no model fits unambiguously.
 */
export function guessTorchModel(shapes: ReadonlyMap<string, readonly number[]>): TorchModelGuess | undefined {
  const has = (k: string) => shapes.has(k);
  const dim = (k: string, i: number) => shapes.get(k)?.[i];
  const keys = [...shapes.keys()];
  if (has('features.0.weight') && has('classifier.6.weight'))
    return { model: 'alexnet', numClasses: dim('classifier.6.weight', 0)! };
  if (has('layer1.0.conv1.weight') && (has('fc.weight') || has('linear.weight')))
    return { model: 'resnet18', numClasses: (dim('fc.weight', 0) ?? dim('linear.weight', 0))! };
  const cifar = has('conv_1.weight') ? '_' : has('conv1.weight') && has('fc3.weight') ? '' : undefined;
  if (cifar !== undefined && has(`fc${cifar}2.weight`) && has(`fc${cifar}3.weight`))
    return {
      model: 'cifar-cnn',
      width: dim(`fc${cifar}2.weight`, 0)!,
      numClasses: dim(`fc${cifar}3.weight`, 0)!,
    };
  if (has('conv1.weight') && has('conv2.weight') && has('fc1.weight') && has('fc2.weight'))
    return { model: 'mnist-cnn', width: dim('fc1.weight', 0)!, numClasses: dim('fc2.weight', 0)! };
  if (
    keys.length === 2 &&
    shapes.get('fc1.weight')?.length === 2 &&
    shapes.get('fc2.weight')?.length === 2 &&
    dim('fc2.weight', 0) === 1
  )
    return {
      model: 'twolayer',
      width: dim('fc1.weight', 0)!,
      numClasses: 2,
      inputShape: [dim('fc1.weight', 1)!],
    };
  return undefined;
}
