/**
 * createModel and what the rest of poisonlab asks about models, all read from the specs of ./catalog.ts
 * (see ./spec.ts): no function here knows a model by name.
 */
import type * as tf from '@tensorflow/tfjs';
import { checkTrainingMemory } from '../backend/memory.js';
import { check, PoisonlabError } from '../util/errors.js';
import { zodIssues } from '../util/registry.js';
import { models } from './catalog.js';
import { checkNormalization, type InputNormalizationSpec } from './normalize.js';
import { type FastStep, isChoice, type ModelBuild, type ModelSpec } from './spec.js';

/** Options of createModel. */
export interface ModelOptions {
  /** Width m of the width-scaled models (`poisonlab models` says which); ignored by the others. */
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
  /** The model's own parameters (e.g. mlp's depth), checked by its spec's schema; absent: its defaults. */
  params?: Record<string, unknown>;
}

/** What createModel recorded about a model it built (for checkpoints). */
export interface ModelInfo {
  /** The registry name asked for, e.g. 'cnn'. */
  name: string;
  /** The concrete architecture, e.g. 'mnist-cnn' when 'cnn' was asked for. */
  resolved: string;
  /** The options it was built with: width resolved, and `params` parsed (only for specs that have any). */
  options: ModelOptions;
}

const info = new WeakMap<tf.LayersModel, ModelInfo>();

function entryFor(name: string) {
  const entry = models.find(name);
  if (!entry)
    throw new PoisonlabError(`model '${name}': unknown, expected one of ${modelNames().join(', ')}`);
  return entry;
}

/** The registered model names, in registration order (for help texts and messages). */
export function modelNames(): string[] {
  return models.list().map((e) => e.name);
}

/** The concrete architecture for a registry name: 'cnn' becomes mnist-cnn (1 channel) or cifar-cnn (3 channels). */
export function resolveName(name: string, inputShape: readonly number[]): string {
  const entry = entryFor(name);
  return isChoice(entry) ? entry.choose(inputShape) : entry.name;
}

/** The spec of a concrete model (a name that stands for several is an error: resolve it first). */
export function modelSpec(name: string): ModelSpec {
  const entry = entryFor(name);
  check(
    !isChoice(entry),
    `model ${name}: stands for one of ${isChoice(entry) ? entry.choices.join(', ') : ''}, expected one of them`,
  );
  return entry as ModelSpec;
}

/** The names a `name` may stand for: itself, or the choices of a name like 'cnn'. */
export function modelChoices(name: string): readonly string[] {
  const entry = entryFor(name);
  return isChoice(entry) ? entry.choices : [entry.name];
}

/** Whether model `name` scales with a width m (a width asked of the others is ignored). */
export function isWidthScaled(name: string): boolean {
  return entryFor(name).width !== undefined;
}

/** The models with PyTorch names (import from and export to `.pth` / `.safetensors`). */
export function torchModelNames(): string[] {
  return models
    .list()
    .filter((e) => !isChoice(e) && e.torch !== undefined)
    .map((e) => e.name);
}

/** One line per model for `poisonlab models` and `--help`. */
export interface ModelListing {
  name: string;
  description: string;
  defaultWidth?: number;
  inputShape?: number[];
  /** The layers whose units are m, at the default parameters (width-scaled specs). */
  widthLayers?: string[];
  /** The spec's own parameters, with their defaults (`poisonlab train --model-param key=value`). */
  paramDefaults?: Record<string, unknown>;
  /** Whether it reads and writes PyTorch state_dicts. */
  torch: boolean;
  fastStep?: FastStep;
}

/** The models createModel knows, for `--help` and listings. */
export function listModels(): ModelListing[] {
  return models.list().map((e) => {
    const defaults = e.params.parse({});
    const spec = isChoice(e) ? undefined : e;
    return {
      name: e.name,
      description: e.description,
      ...(e.width && { defaultWidth: e.width.default }),
      ...(spec?.inputShape && { inputShape: [...spec.inputShape] }),
      ...(spec?.width && { widthLayers: spec.width.layers(defaults) }),
      ...(Object.keys(defaults).length > 0 && { paramDefaults: defaults }),
      torch: spec?.torch !== undefined,
      ...(spec?.fastStep && { fastStep: spec.fastStep }),
    };
  });
}

/**
 * A model name and its own parameters checked against the registry, defaults filled in; an unknown name or bad
 * parameters are a one-line error naming the model (for configs, checked before a sweep starts).
 */
export function parseModelParams(name: string, raw: Record<string, unknown> = {}): Record<string, unknown> {
  const entry = entryFor(name);
  const res = entry.params.safeParse(raw);
  if (!res.success) throw new PoisonlabError(`model ${entry.name}: ${zodIssues(res.error)}`);
  return res.data as Record<string, unknown>;
}

/** The spec's own parameters of a request, validated; a one-line error naming the model. */
function parseParams(spec: ModelSpec, raw: Record<string, unknown> | undefined): Record<string, unknown> {
  const res = spec.params.safeParse(raw ?? {});
  if (!res.success) throw new PoisonlabError(`model ${spec.name}: ${zodIssues(res.error)}`);
  return res.data as Record<string, unknown>;
}

/** The request as a spec's functions see it (width resolved, params parsed). */
function buildOptions(spec: ModelSpec, width: number, opts: ModelOptions): ModelBuild {
  return {
    width,
    inputShape: opts.inputShape,
    numClasses: opts.numClasses,
    seed: opts.seed,
    ...(opts.normalize !== undefined && { normalize: opts.normalize }),
    params: parseParams(spec, opts.params),
  };
}

/** Parameters of a model before it is built (batch-norm running statistics included): for memory checks. */
export function estimateWeights(name: string, opts: ModelOptions): number {
  const spec = modelSpec(resolveName(name, opts.inputShape));
  const width = opts.width ?? entryFor(name).width?.default ?? 0;
  return spec.weights(buildOptions(spec, width, opts));
}

/**
 * Build a model by registry name, initialised by its spec, seeded. Outputs are logits (one for twolayer, K
 * for the others). Throws a one-line PoisonlabError for an unknown name, a width that is not a positive integer,
 * bad parameters, a wrong input shape, or a model too large for the 4 GiB wasm heap.
 */
export function createModel(name: string, opts: ModelOptions): tf.LayersModel {
  const entry = entryFor(name);
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
  const width = opts.width ?? entry.width?.default ?? 0;
  if (entry.width) {
    check(
      Number.isInteger(width) && width >= 1,
      `model ${name}: width must be a positive integer, got ${opts.width}`,
    );
  }
  const resolved = isChoice(entry) ? entry.choose(inputShape) : entry.name;
  const spec = modelSpec(resolved);
  if (spec.classes !== undefined) {
    const k = spec.classes;
    check(
      numClasses === k,
      `model ${name}: expected ${k === 2 ? 'a binary task (2 classes)' : `${k} classes`}, got ${numClasses} classes`,
    );
  }
  const o = buildOptions(spec, width, opts);
  spec.check?.(o);
  if (opts.normalize !== undefined) checkNormalization(opts.normalize, inputShape, `model ${name}`);
  // On wasm, what is already on the heap (live tensors) counts too.
  checkTrainingMemory(`model ${name} (width ${width})`, spec.weights(o));
  const model = spec.build(o);
  spec.init(model, o);
  const hasParams = Object.keys(o.params).length > 0;
  info.set(model, {
    name,
    resolved,
    options: { ...opts, inputShape: [...inputShape], width, ...(hasParams && { params: o.params }) },
  });
  return model;
}

/** What createModel recorded about `model` (undefined for models built elsewhere). */
export function modelInfo(model: tf.LayersModel): ModelInfo | undefined {
  return info.get(model);
}

/** The spec `model` was built from (undefined for models createModel did not build). */
export function specOf(model: tf.LayersModel): ModelSpec | undefined {
  const i = info.get(model);
  return i ? modelSpec(i.resolved) : undefined;
}

/** The fast training path `model`'s spec declares, if any. */
export function fastStepOf(model: tf.LayersModel): FastStep | undefined {
  return specOf(model)?.fastStep;
}

/**
 * The symbolic tensor of `model`'s penultimate representation: its spec's feature layer's output; for a model
 * createModel did not build, the input of its last layer (correct for any graph, sequential or not).
 */
export function featureOutput(model: tf.LayersModel): tf.SymbolicTensor {
  const i = info.get(model);
  if (i) {
    const spec = modelSpec(i.resolved);
    const params = spec.params.parse(i.options.params ?? {});
    return model.getLayer(spec.features(params)).output as tf.SymbolicTensor;
  }
  const last = model.layers[model.layers.length - 1];
  check(last && model.layers.length >= 2, 'model: it has no penultimate layer');
  const input = last.input;
  check(!Array.isArray(input), `model: its last layer ${last.name} has several inputs, expected one`);
  return input as tf.SymbolicTensor;
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
