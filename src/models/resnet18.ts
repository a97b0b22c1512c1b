import * as tf from '@tensorflow/tfjs';
import { InputNormalization, type InputNormalizationSpec } from './normalize.js';
import { checkImageShape } from './shapes.js';
import { defineModel, noParams, torchDefaultInit } from './spec.js';

type Sym = tf.SymbolicTensor;

/** PyTorch's BatchNorm2d defaults: momentum 0.1 (tfjs counts it the other way: 0.9), eps 1e-5. */
function bn(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name });
}

/** 3x3 conv without bias; stride 2 pads 1 on every side explicitly (as PyTorch), stride 1 uses 'same'. */
function conv3x3(x: Sym, filters: number, stride: number, name: string): Sym {
  if (stride === 1) {
    return tf.layers
      .conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, name })
      .apply(x) as Sym;
  }
  const padded = tf.layers.zeroPadding2d({ padding: 1, name: `${name}_pad` }).apply(x) as Sym;
  return tf.layers
    .conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name })
    .apply(padded) as Sym;
}

/** BasicBlock: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)), shortcut = 1x1 conv + bn when the shape changes. */
function basicBlock(x: Sym, inChannels: number, filters: number, stride: number, name: string): Sym {
  let out = conv3x3(x, filters, stride, `${name}_conv1`);
  out = tf.layers.reLU({ name: `${name}_relu1` }).apply(bn(`${name}_bn1`).apply(out)) as Sym;
  out = bn(`${name}_bn2`).apply(conv3x3(out, filters, 1, `${name}_conv2`)) as Sym;
  let shortcut = x;
  if (stride !== 1 || inChannels !== filters) {
    const proj = tf.layers.conv2d({
      filters,
      kernelSize: 1,
      strides: stride,
      useBias: false,
      name: `${name}_sc`,
    });
    shortcut = bn(`${name}_scbn`).apply(proj.apply(x)) as Sym;
  }
  const sum = tf.layers.add({ name: `${name}_add` }).apply([out, shortcut]) as Sym;
  return tf.layers.reLU({ name: `${name}_relu2` }).apply(sum) as Sym;
}

/**
 * ResNet-18 for CIFAR-10 (the common CIFAR variant): 3x3 stride-1 first conv with 64 channels, batch norm,
 * BasicBlocks [2, 2, 2, 2] with 64, 128, 256, 512 channels (strides 1, 2, 2, 2), global average pool,
 * dense 512->10 (logits). 11,173,962 parameters for 10 classes (batch-norm running statistics excluded).
 * With `normalize`, per-channel input normalisation first (normalize.ts).
 */
export function buildResNet18(
  inputShape: readonly number[],
  numClasses: number,
  normalize?: InputNormalizationSpec,
): tf.LayersModel {
  checkImageShape('resnet18', inputShape, 3, 8);
  const input = tf.input({ shape: [...inputShape], name: 'input' });
  const first = normalize ? (new InputNormalization(normalize).apply(input) as Sym) : input;
  let x = conv3x3(first, 64, 1, 'conv1');
  x = tf.layers.reLU({ name: 'relu1' }).apply(bn('bn1').apply(x)) as Sym;
  let channels = 64;
  [64, 128, 256, 512].forEach((filters, stage) => {
    for (let b = 0; b < 2; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      x = basicBlock(x, channels, filters, stride, `layer${stage + 1}_${b}`);
      channels = filters;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as Sym;
  const logits = tf.layers.dense({ units: numClasses, name: 'fc' }).apply(x) as Sym;
  return tf.model({ inputs: input, outputs: logits });
}

/** Parameter count of buildResNet18 including the batch-norm running statistics (what the heap holds). */
export function resNet18Weights(numClasses: number): number {
  // Convolutions and batch norm (gamma, beta) of the 10-class model, minus its head, plus the head.
  const withoutHead = 11_173_962 - (512 * 10 + 10);
  const bnChannels = 64 + 2 * (64 * 2 + 128 * 2 + 256 * 2 + 512 * 2) + 128 + 256 + 512;
  return withoutHead + 512 * numClasses + numClasses + 2 * bnChannels;
}

/**
 * The spec: fixed size; PyTorch names are torchvision-style (resnet.py: conv1, bn1, layer{1-4}.{0,1}.{conv1,
 * bn1,conv2,bn2}, layer{2-4}.0.downsample.{0,1}, fc; the CIFAR variant's `shortcut.` and `linear.` also read).
 * The weights fit, but the original's resnet.py keeps ImageNet's 3x3 max pool after the stem, which this CIFAR
 * ResNet-18 (like the common CIFAR variant) has not, so the same weights compute a different function. The
 * penultimate features are the global average pool's 512 values (a graph with Adds: not a chain of layers).
 */
export const resNet18 = defineModel({
  name: 'resnet18',
  aliases: [],
  description: 'CIFAR ResNet-18: 3x3 stride-1 stem, BasicBlocks [2,2,2,2], 64..512 channels, batch norm',
  params: noParams,
  inputShape: [32, 32, 3],
  weights: (o) => resNet18Weights(o.numClasses),
  build: (o) => buildResNet18(o.inputShape, o.numClasses, o.normalize),
  init: torchDefaultInit,
  features: () => 'avgpool',
  torch: {
    source: 'resnet.py `ResNet18` of the original study',
    module: (layer) =>
      layer
        .replace(/^(layer\d)_(\d)_scbn$/, '$1.$2.downsample.1')
        .replace(/^(layer\d)_(\d)_sc$/, '$1.$2.downsample.0')
        .replace(/^(layer\d)_(\d)_/, '$1.$2.'),
    canonicalKey: (key) => key.replace(/\.shortcut\./, '.downsample.').replace(/^linear\./, 'fc.'),
    guess(shapes) {
      if (!shapes.has('layer1.0.conv1.weight')) return undefined;
      const head = shapes.get('fc.weight') ?? shapes.get('linear.weight');
      return head ? { model: 'resnet18', numClasses: head[0]! } : undefined;
    },
  },
});
