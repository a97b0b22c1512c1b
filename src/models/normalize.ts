import * as tf from '@tensorflow/tfjs';
import { check } from '../util/errors.js';

/**
 * Per-channel input normalisation, x -> (x - mean_c) / std_c over the last (channel) axis of NHWC images, as
 * torchvision's `transforms.Normalize` and ART's `preprocessing=(mean, std)` (what the original's
 * cifar_ntk.py applies to the width-m networks). It is the model's first layer, so training, validation,
 * test and every other forward see it; it has no weights (PyTorch state_dicts and checkpoints are unchanged).
 */
export interface InputNormalizationSpec {
  /** One mean per channel, in [0, 1] pixel units. */
  mean: number[];
  /** One standard deviation per channel (> 0). */
  std: number[];
}

/** A one-line error unless `spec` fits images of `inputShape` (one mean and one positive std per channel). */
export function checkNormalization(
  spec: InputNormalizationSpec,
  inputShape: readonly number[],
  what: string,
): void {
  const channels = inputShape[inputShape.length - 1]!;
  check(
    Array.isArray(spec.mean) &&
      Array.isArray(spec.std) &&
      spec.mean.length === channels &&
      spec.std.length === channels,
    `${what}: input normalisation needs one mean and one std per channel (${channels}), got ` +
      `mean [${spec.mean}] and std [${spec.std}]`,
  );
  check(
    spec.mean.every(Number.isFinite) && spec.std.every((s) => Number.isFinite(s) && s > 0),
    `${what}: input normalisation needs finite means and positive stds, got mean [${spec.mean}] and std [${spec.std}]`,
  );
}

/**
 * The normalisation layer. `raw` (not part of the config, off after construction) makes it the identity, so that
 * a caller can take the model's forward on raw pixels: the original's attack feeds x + delta to its surrogate
 * without the normalisation its training used (poison_attack.py), see withRawInput.
 */
export class InputNormalization extends tf.layers.Layer {
  static className = 'PoisonlabInputNormalization';
  readonly spec: InputNormalizationSpec;
  raw = false;

  constructor(args: InputNormalizationSpec & { inputShape?: number[]; name?: string }) {
    super({
      ...(args.inputShape !== undefined && { inputShape: args.inputShape }),
      name: args.name ?? 'normalize',
    });
    this.spec = { mean: [...args.mean], std: [...args.std] };
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (this.raw) return tf.clone(x);
    // (x - mean) / std, as PyTorch; mean and std broadcast over the last axis.
    return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(this.spec.mean)), tf.tensor1d(this.spec.std)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: this.spec.mean, std: this.spec.std };
  }
}
tf.serialization.registerClass(InputNormalization);

/** The layers an image model starts with: the normalisation layer when `spec` is given (taking the input shape). */
export function inputLayers(
  inputShape: readonly number[],
  spec: InputNormalizationSpec | undefined,
): tf.layers.Layer[] {
  return spec ? [new InputNormalization({ ...spec, inputShape: [...inputShape] })] : [];
}

/** The input shape the model's own first layer declares: none when a normalisation layer comes first. */
export function firstLayerShape(
  inputShape: readonly number[],
  spec: InputNormalizationSpec | undefined,
): { inputShape?: number[] } {
  return spec ? {} : { inputShape: [...inputShape] };
}

/** The model's input normalisation layer, if it has one. */
export function normalizationLayer(model: tf.LayersModel): InputNormalization | undefined {
  return model.layers.find((l): l is InputNormalization => l instanceof InputNormalization);
}

/**
 * Run `fn` with the model's normalisation (if any) switched off, so that its forward takes raw pixels; `fn` must
 * be synchronous (the switch is restored before anything else can run the model).
 */
export function withRawInput<T>(model: tf.LayersModel, fn: () => T): T {
  const layer = normalizationLayer(model);
  if (!layer || layer.raw) return fn();
  layer.raw = true;
  try {
    return fn();
  } finally {
    layer.raw = false;
  }
}
