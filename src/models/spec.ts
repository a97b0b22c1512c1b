/**
 * What a model's file says about it, in the style of timm's `create_model`: one `ModelSpec` per architecture
 * holds its builder, its width scaling, its initialisation, its penultimate-feature hook, its PyTorch names and
 * the fast training step it has, if any. ./catalog.ts registers the specs on the generic `Registry`, and
 * everything else (createModel, checkpoints, PyTorch import/export, the feature defences, the step strategy,
 * `poisonlab models` and the help texts) asks the registry; nothing outside a model's file tests its name.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { RegistryEntry } from '../util/registry.js';
import { initTorchDefaults } from './init.js';
import type { InputNormalizationSpec } from './normalize.js';

/** What a spec's functions receive: the request, the width resolved, the spec's parameters parsed. */
export interface ModelBuild<P = Record<string, unknown>> {
  /** Width m (the spec's default when not asked for); 0 for fixed-size models. */
  width: number;
  /** Shape of one sample, e.g. [28, 28, 1] (NHWC images) or [2] (vectors). */
  inputShape: readonly number[];
  numClasses: number;
  /** Seed of the initial weights (and of dropout masks). */
  seed: number;
  /** Per-channel input normalisation as the first layer (normalize.ts); absent: raw [0, 1] inputs. */
  normalize?: InputNormalizationSpec;
  /** The spec's own parameters (e.g. an MLP's depth), validated by its `params` schema, defaults filled in. */
  params: P;
}

/**
 * A fast training path the model has besides the generic tfjs step. The paths themselves live in src/train
 * (they read datasets and training options, which models may not import); the spec says which one fits it:
 * - 'two-layer': the theory's f(x) = (1/sqrt(m)) a . relu(W x) with layers `hidden` (W) and `output` (fixed a)
 *   on the logistic loss (online SGD in plain JS at batch size 1, a fused step on the wasm heap otherwise);
 * - 'toy-ntk': f(x) = A relu(W x) with layers `hidden` and `output` (fixed signs), BCE on one-hot labels,
 *   online SGD in plain JS.
 */
export type FastStep = 'two-layer' | 'toy-ntk';

/** What the shapes of a PyTorch state_dict say about the model that wrote it. */
export interface TorchModelGuess {
  /** The poisonlab model, e.g. 'mnist-cnn'. */
  model: string;
  /** Width m of width-scaled models. */
  width?: number;
  numClasses: number;
  /** The input shape when the shapes fix it (twolayer: [d]); otherwise the model's usual one is assumed. */
  inputShape?: number[];
  /** The spec's own parameters the shapes fix (an MLP's depth). */
  params?: Record<string, unknown>;
}

/** How a model's weights are named in PyTorch (layouts follow from the layer kinds, see torch-names.ts). */
export interface TorchNames {
  /** The PyTorch module these names are the state_dict of, one line (file and class). */
  source: string;
  /** The PyTorch module of a tfjs layer; absent: the same name. */
  module?(layer: string): string;
  /** Other accepted spellings of a state_dict key, mapped to the canonical one; absent: none. */
  canonicalKey?(key: string): string;
  /** Recognise this model's state_dict from its keys and shapes (keys as written); undefined when it is not. */
  guess?(shapes: ReadonlyMap<string, readonly number[]>): TorchModelGuess | undefined;
}

/** One architecture. `P` is the zod object schema of its own parameters (none for most models). */
export interface ModelSpec<P extends z.ZodObject = z.ZodObject> extends RegistryEntry<P> {
  /**
   * Width m: its default, and the layers whose units are m (they scale with the width; the rest is fixed).
   * Absent: a fixed-size model, which ignores any width asked for.
   */
  width?: { default: number; layers(p: z.output<P>): string[] };
  /** The class count the model is made for (twolayer: 2, read from its one logit); absent: any. */
  classes?: number;
  /** The input shape the model is made for (listings, PyTorch import); absent: any. */
  inputShape?: readonly number[];
  /** Values the weights hold (batch-norm running statistics included), before building: the memory check. */
  weights(o: ModelBuild<z.output<P>>): number;
  /** Checks of the request beyond what createModel checks (classes, inputs); one-line PoisonlabErrors. */
  check?(o: ModelBuild<z.output<P>>): void;
  build(o: ModelBuild<z.output<P>>): tf.LayersModel;
  /** Set the initial weights of a freshly built model, seeded: `torchDefaultInit` or `initialisedInBuild`. */
  init(model: tf.LayersModel, o: ModelBuild<z.output<P>>): void;
  /** The layer whose output is the penultimate representation (what the feature defences read). */
  features(p: z.output<P>): string;
  /** PyTorch names of the weights (`.pth` / `.safetensors` import and export); absent: none. */
  torch?: TorchNames;
  /** The fast training path the model has, if any (src/train/step.ts picks it from here). */
  fastStep?: FastStep;
}

/**
 * A name that stands for one of several specs, chosen by the input shape ('cnn': mnist-cnn for 1-channel images,
 * cifar-cnn for 3-channel ones).
 */
export interface ModelChoice extends RegistryEntry {
  /** The specs it may stand for; the first one when nothing else says. */
  choices: readonly string[];
  /** The default width of its choices. */
  width?: { default: number };
  /** The concrete spec's name for an input shape; a one-line PoisonlabError when none fits. */
  choose(inputShape: readonly number[]): string;
}

/** A registry entry: a spec, or a name that picks one by input shape. */
export type ModelEntry = ModelSpec | ModelChoice;

/** Whether an entry is a choice between specs. */
export function isChoice(e: ModelEntry): e is ModelChoice {
  return 'choose' in e;
}

/** No parameters besides width, input shape, classes and seed. */
export const noParams = z.object({}).strict();

/** Identity helper that keeps a spec's parameter type (so its functions see typed params). */
export function defineModel<P extends z.ZodObject>(spec: ModelSpec<P>): ModelSpec<P> {
  return spec;
}

/**
 * PyTorch's default initialisation of every Conv2D and Dense layer (init.ts): weights kaiming_uniform(a =
 * sqrt(5)), biases U(+-1/sqrt(fan_in)); one stream per layer, in layer order, from the model's seed.
 */
export function torchDefaultInit(model: tf.LayersModel, o: { seed: number }): void {
  initTorchDefaults(model, o.seed);
}

/** For models whose builder draws its own initial weights from the seed (twolayer, toy-ntk). */
export function initialisedInBuild(): void {}
