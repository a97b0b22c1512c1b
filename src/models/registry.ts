import type * as tf from '@tensorflow/tfjs';
import { checkTrainingMemory } from '../backend/memory.js';
import { check, PoisonlabError } from '../util/errors.js';
import { alexNetParams, buildAlexNet } from './alexnet.js';
import { buildCifarCnn, cifarCnnParams } from './cifar-cnn.js';
import { initTorchDefaults } from './init.js';
import { buildMnistCnn, mnistCnnParams } from './mnist-cnn.js';
import { checkNormalization, type InputNormalizationSpec } from './normalize.js';
import { buildResNet18, resNet18Weights } from './resnet18.js';
import { buildToyNtk, toyNtkParams } from './toy-ntk.js';
import { buildTwoLayer, twoLayerParams } from './two-layer.js';

/** Options of createModel. */
export interface ModelOptions {
  /** Width m of the width-scaled models (mnist-cnn, cifar-cnn, cnn, twolayer, toy-ntk); ignored by the others. */
  width?: number;
  /** Shape of one sample, e.g. [28, 28, 1] (NHWC images) or [2] (vectors). */
  inputShape: number[];
  numClasses: number;
  /** Seed of the initial weights (and of dropout masks). */
  seed: number;
  /**
   * Per-channel input normalisation as the model's first layer (normalize.ts), e.g. CIFAR-10's mean and std;
   * absent: the model takes raw [0, 1] pixels. Image models only; no weights, so state_dicts are unchanged.
   */
  normalize?: InputNormalizationSpec;
}

/** What createModel recorded about a model it built (for checkpoints). */
export interface ModelInfo {
  /** The registry name asked for, e.g. 'cnn'. */
  name: string;
  /** The concrete architecture, e.g. 'mnist-cnn' when 'cnn' was asked for. */
  resolved: string;
  options: ModelOptions;
}

interface ModelSpec {
  name: string;
  description: string;
  defaultWidth?: number;
  inputShape?: number[];
  /** Values the model's weights hold (checked against memory before building). */
  weights(width: number, o: ModelOptions): number;
  build(width: number, o: ModelOptions): tf.LayersModel;
}

const SPECS: ModelSpec[] = [
  {
    name: 'mnist-cnn',
    description:
      'paper MNIST CNN: conv(1->10,5x5) pool relu, conv(10->20,5x5) pool relu, dense 320->m relu, dense m->10',
    defaultWidth: 100,
    inputShape: [28, 28, 1],
    weights: (m, o) => mnistCnnParams(m, o.inputShape, o.numClasses),
    build: (m, o) => buildMnistCnn(m, o.inputShape, o.numClasses, o.normalize),
  },
  {
    name: 'cifar-cnn',
    description:
      'paper CIFAR-10 CNN: conv(3->6,5x5) relu pool, conv(6->16,5x5) relu pool, dense 400->120->m->10',
    defaultWidth: 100,
    inputShape: [32, 32, 3],
    weights: (m, o) => cifarCnnParams(m, o.inputShape, o.numClasses),
    build: (m, o) => buildCifarCnn(m, o.inputShape, o.numClasses, o.normalize),
  },
  {
    name: 'cnn',
    description: 'mnist-cnn for 1-channel images, cifar-cnn for 3-channel images (the paper’s width-m nets)',
    defaultWidth: 100,
    weights: (m, o) => specFor(resolveName('cnn', o.inputShape)).weights(m, o),
    build: (m, o) => specFor(resolveName('cnn', o.inputShape)).build(m, o),
  },
  {
    name: 'alexnet',
    description: 'CIFAR-10 AlexNet variant (the CIFAR surrogate), dropout 0.5, fixed size',
    inputShape: [32, 32, 3],
    weights: (_m, o) => alexNetParams(o.inputShape, o.numClasses),
    build: (_m, o) => buildAlexNet(o.inputShape, o.numClasses, o.seed, o.normalize),
  },
  {
    name: 'resnet18',
    description: 'CIFAR ResNet-18: 3x3 stride-1 stem, BasicBlocks [2,2,2,2], 64..512 channels, batch norm',
    inputShape: [32, 32, 3],
    weights: (_m, o) => resNet18Weights(o.numClasses),
    build: (_m, o) => buildResNet18(o.inputShape, o.numClasses, o.normalize),
  },
  {
    name: 'twolayer',
    description: "theory's net f(x) = (1/sqrt(m)) sum_s a_s relu(w_s.x), a_s fixed in {-1,+1}, one logit",
    defaultWidth: 1000,
    weights: (m, o) => twoLayerParams(m, o.inputShape),
    build: (m, o) => buildTwoLayer(m, o.inputShape, o.seed),
  },
  {
    name: 'toy-ntk',
    description:
      "the original toy's net: f_k(x) = sum_s a_ks relu(w_s.x), a_ks fixed in {-1,+1}, no 1/sqrt(m), K logits",
    defaultWidth: 200,
    weights: (m, o) => toyNtkParams(m, o.inputShape, o.numClasses),
    build: (m, o) => buildToyNtk(m, o.inputShape, o.numClasses, o.seed),
  },
];

const WIDTH_SCALED = new Set(['mnist-cnn', 'cifar-cnn', 'cnn', 'twolayer', 'toy-ntk']);
/** Models that draw their own initial weights in build (every other one gets PyTorch's defaults). */
const SELF_INITIALISED = new Set(['twolayer', 'toy-ntk']);
const info = new WeakMap<tf.LayersModel, ModelInfo>();

function specFor(name: string): ModelSpec {
  const spec = SPECS.find((s) => s.name === name);
  if (!spec)
    throw new PoisonlabError(
      `model '${name}': unknown, expected one of ${SPECS.map((s) => s.name).join(', ')}`,
    );
  return spec;
}

/** The concrete architecture for a registry name: 'cnn' becomes mnist-cnn (1 channel) or cifar-cnn (3 channels). */
export function resolveName(name: string, inputShape: readonly number[]): string {
  if (name !== 'cnn') return name;
  const channels = inputShape.length === 3 ? inputShape[2] : undefined;
  if (channels === 1) return 'mnist-cnn';
  if (channels === 3) return 'cifar-cnn';
  throw new PoisonlabError(
    `model cnn: expected an image input shape [H, W, 1] or [H, W, 3], got [${inputShape}]`,
  );
}

/** The models createModel knows, for `--help` and listings. */
export function listModels(): {
  name: string;
  description: string;
  defaultWidth?: number;
  inputShape?: number[];
}[] {
  return SPECS.map(({ name, description, defaultWidth, inputShape }) => ({
    name,
    description,
    ...(defaultWidth === undefined ? {} : { defaultWidth }),
    ...(inputShape === undefined ? {} : { inputShape: [...inputShape] }),
  }));
}

/** Parameters of a model before it is built (batch-norm running statistics included): for memory checks. */
export function estimateWeights(name: string, opts: ModelOptions): number {
  const spec = specFor(name);
  return spec.weights(opts.width ?? spec.defaultWidth ?? 0, opts);
}

/**
 * Build a model by registry name with PyTorch's default initialisation, seeded. Outputs are logits
 * (K for the CNNs and toy-ntk, one for twolayer). Throws a one-line PoisonlabError for an unknown name, a width
 * that is not a positive integer, a wrong input shape, or a model too large for the 4 GiB wasm heap.
 */
export function createModel(name: string, opts: ModelOptions): tf.LayersModel {
  const spec = specFor(name);
  const { inputShape, numClasses, seed } = opts;
  check(
    Array.isArray(inputShape) &&
      inputShape.length > 0 &&
      inputShape.every((s) => Number.isInteger(s) && s > 0),
    `model ${name}: input shape must be a list of positive integers, got [${inputShape}]`,
  );
  check(
    Number.isInteger(numClasses) && numClasses >= 1,
    `model ${name}: numClasses must be a positive integer, got ${numClasses}`,
  );
  check(Number.isInteger(seed), `model ${name}: seed must be an integer, got ${seed}`);
  const width = opts.width ?? spec.defaultWidth ?? 0;
  if (WIDTH_SCALED.has(name)) {
    check(
      Number.isInteger(width) && width >= 1,
      `model ${name}: width must be a positive integer, got ${opts.width}`,
    );
  }
  if (name === 'twolayer') {
    check(numClasses === 2, `model twolayer: expected a binary task (2 classes), got ${numClasses} classes`);
  }
  const resolved = resolveName(name, inputShape);
  if (opts.normalize !== undefined) {
    check(
      resolved !== 'twolayer',
      `model twolayer: input normalisation is for image models (the theory's net takes raw vectors)`,
    );
    checkNormalization(opts.normalize, inputShape, `model ${name}`);
  }
  const what = `model ${name} (width ${width})`;
  const weights = spec.weights(width, opts);
  // On wasm, what is already on the heap (live tensors) counts too.
  checkTrainingMemory(what, weights);
  const model = spec.build(width, opts);
  // twolayer and toy-ntk draw their own W and a; every other model gets PyTorch's conv/dense defaults.
  if (!SELF_INITIALISED.has(resolved)) initTorchDefaults(model, seed);
  info.set(model, { name, resolved, options: { ...opts, inputShape: [...inputShape], width } });
  return model;
}

/** What createModel recorded about `model` (undefined for models built elsewhere). */
export function modelInfo(model: tf.LayersModel): ModelInfo | undefined {
  return info.get(model);
}

/**
 * Number of parameters as PyTorch counts them (`sum(p.numel() for p in model.parameters())`):
 * all weights, trainable or fixed, except batch-norm running statistics.
 */
export function countParams(model: tf.LayersModel): number {
  let n = 0;
  for (const w of model.weights) {
    if (/moving_(mean|variance)$/.test(w.originalName)) continue;
    n += w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
  }
  return n;
}
