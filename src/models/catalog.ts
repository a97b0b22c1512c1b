/**
 * The built-in models, registered once. Adding a model: write its file (a `ModelSpec` made with `defineModel`,
 * holding its builder, width scaling, initialisation, feature hook, PyTorch names and fast step), add one line
 * below, and a test. Nothing else reads model names: createModel, checkpoints, PyTorch import and export, the
 * feature defences, the step strategy, `poisonlab models` and the help texts ask this registry.
 */

import { PoisonlabError } from '../util/errors.js';
import { Registry } from '../util/registry.js';
import { alexNet } from './alexnet.js';
import { cifarCnn } from './cifar-cnn.js';
import { mlp } from './mlp.js';
import { mnistCnn } from './mnist-cnn.js';
import { resNet18 } from './resnet18.js';
import { type ModelEntry, type ModelSpec, noParams } from './spec.js';
import { toyNtk } from './toy-ntk.js';
import { twoLayer } from './two-layer.js';

/** The model registry (kind 'model'). */
export const models = new Registry<ModelEntry>('model');

/** Add a spec; a taken name or alias is an error. */
export function registerModel<P extends ModelSpec['params']>(spec: ModelSpec<P>): void {
  models.register(spec as unknown as ModelSpec);
}

registerModel(mnistCnn);
registerModel(cifarCnn);
models.register({
  name: 'cnn',
  aliases: [],
  description: 'mnist-cnn for 1-channel images, cifar-cnn for 3-channel images (the paper’s width-m nets)',
  params: noParams,
  choices: ['mnist-cnn', 'cifar-cnn'],
  width: { default: 100 },
  choose(inputShape) {
    const channels = inputShape.length === 3 ? inputShape[2] : undefined;
    if (channels === 1) return 'mnist-cnn';
    if (channels === 3) return 'cifar-cnn';
    throw new PoisonlabError(
      `model cnn: expected an image input shape [H, W, 1] or [H, W, 3], got [${inputShape}]`,
    );
  },
});
registerModel(alexNet);
registerModel(resNet18);
registerModel(twoLayer);
registerModel(toyNtk);
registerModel(mlp);
