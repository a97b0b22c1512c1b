import type { Command } from 'commander';
import { initBackend } from '../../backend/index.js';
import { writeSafetensors } from '../../io/safetensors.js';
import { modelInfo, torchModelNames } from '../../models/index.js';
import { saveCheckpoint } from '../../train/checkpoint.js';
import {
  type LoadedModel,
  loadModelFile,
  type ModelHints,
  modelFromStateDict,
  readTorchWeights,
  saveTorchSafetensors,
  weightsFormat,
} from '../../train/torch-checkpoint.js';
import { check, PoisonlabError } from '../../util/errors.js';
import { checkOutputFile } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';

interface ConvertFlags {
  model?: string;
  width?: number;
  inputShape?: string;
  json: boolean;
}

const FORMAT_NAMES = {
  npz: 'poisonlab checkpoint',
  pth: 'PyTorch checkpoint',
  safetensors: 'safetensors state_dict',
} as const;

/** The checkpoint meta keys saveCheckpoint writes itself (not carried between files). */
const OWN_KEYS = new Set(['checkpoint', 'model', 'weights']);

/** `poisonlab convert IN OUT`: weights between poisonlab checkpoints, PyTorch checkpoints and safetensors. */
export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'convert weights: .pth -> .npz or .safetensors, .safetensors -> .npz, .npz -> .safetensors (PyTorch names and layouts)',
    )
    .argument(
      '<in>',
      'a poisonlab checkpoint (.npz), a PyTorch state_dict (.pth, .pt) or a .safetensors file',
    )
    .argument('<out>', 'where to write: .npz (poisonlab checkpoint) or .safetensors (PyTorch state_dict)')
    .option(
      '--model <name>',
      `the model a .pth/.safetensors holds: ${torchModelNames().join(', ')} (default: what its shapes say)`,
    )
    .option('--width <m>', 'its width, likewise', parseNumberOption('--width', { min: 1, integer: true }))
    .option(
      '--input-shape <h,w,c>',
      "one sample's shape (default: the model's usual one: 28,28,1 or 32,32,3; twolayer: its input size)",
    )
    .option('--json', 'print one JSON object describing the conversion', false)
    .action(async (input: string, output: string, flags: ConvertFlags) => runConvert(input, output, flags));
}

function parseShape(text: string): number[] {
  const shape = text.split(',').map((s) => Number(s.trim()));
  check(
    shape.length > 0 && shape.every((s) => Number.isInteger(s) && s >= 1),
    `--input-shape: expected positive integers separated by commas, e.g. 28,28,1, got '${text}'`,
  );
  return shape;
}

async function runConvert(input: string, output: string, f: ConvertFlags): Promise<void> {
  const from = weightsFormat(input);
  const to = weightsFormat(output);
  check(
    to !== 'pth',
    `${output}: writing PyTorch .pth files is not supported (expected OUT to be .npz or .safetensors; ` +
      'PyTorch reads .safetensors with safetensors.torch.load_file)',
  );
  checkOutputFile(output, '<out>');
  check(
    from !== to,
    `convert: ${input} and ${output} are both ${FORMAT_NAMES[from]}s, nothing to convert ` +
      '(expected .pth -> .npz/.safetensors, .safetensors -> .npz or .npz -> .safetensors)',
  );
  const hints: ModelHints = {
    ...(f.model !== undefined && { model: f.model }),
    ...(f.width !== undefined && { width: f.width }),
    ...(f.inputShape !== undefined && { inputShape: parseShape(f.inputShape) }),
  };
  await initBackend({ quiet: true });

  let loaded: LoadedModel | undefined;
  let tensors: number;
  if (from === 'pth' && to === 'safetensors') {
    // A state_dict stays a state_dict: every tensor copied as it is (names, dtypes, layouts). When the
    // model is known (--model, or its shapes), it is checked and named in the metadata as well.
    const weights = readTorchWeights(input);
    tensors = weights.tensors.size;
    const metadata: Record<string, string> = { format: 'pt' };
    try {
      loaded = { ...modelFromStateDict(weights.tensors, hints, input), format: 'pth' };
    } catch (e) {
      if (!(e instanceof PoisonlabError) || Object.keys(hints).length > 0) throw e;
      note(
        f.json,
        `${input}: not the state_dict of a poisonlab model; copying its ${tensors} tensors as they are`,
      );
    }
    if (loaded) {
      const { options } = modelInfo(loaded.model)!;
      metadata['poisonlab.model'] = loaded.name;
      if (loaded.width !== undefined) metadata['poisonlab.width'] = String(loaded.width);
      metadata['poisonlab.inputShape'] = JSON.stringify(options.inputShape);
      metadata['poisonlab.numClasses'] = String(options.numClasses);
      if (options.params) metadata['poisonlab.params'] = JSON.stringify(options.params);
      loaded.model.dispose();
    }
    writeSafetensors(output, weights.tensors, metadata);
  } else {
    loaded = loadModelFile(input, hints);
    tensors = loaded.model.weights.length;
    const carried = Object.fromEntries(Object.entries(loaded.meta ?? {}).filter(([k]) => !OWN_KEYS.has(k)));
    try {
      if (to === 'safetensors') tensors = saveTorchSafetensors(output, loaded.model, carried);
      else saveCheckpoint(output, loaded.model, { ...carried, imported: { from: input, format: from } });
    } finally {
      loaded.model.dispose();
    }
  }
  const summary = {
    in: input,
    out: output,
    from,
    to,
    model: loaded?.name ?? null,
    width: loaded?.width ?? null,
    tensors,
  };
  if (f.json) printJson(summary);
  else
    say(
      false,
      `${input} (${FORMAT_NAMES[from]}) -> ${output} (${FORMAT_NAMES[to]}): ` +
        `${loaded ? `${loaded.name}${loaded.width !== undefined ? ` width ${loaded.width}` : ''}, ` : ''}${tensors} tensors`,
    );
}
