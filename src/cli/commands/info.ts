import type { Command } from 'commander';
import { doctorReport } from '../../backend/doctor.js';
import { estimateWeights, listModels, type ModelListing } from '../../models/index.js';
import { parseNumberOption, printJson } from '../output.js';

/** Count a model's parameters for `poisonlab models`: at its own input shape, else on MNIST's images. */
function countFor(m: ModelListing, width?: number): number | null {
  const inputShape = m.inputShape ?? [28, 28, 1];
  try {
    const w = width ?? m.defaultWidth;
    return estimateWeights(m.name, {
      ...(w !== undefined && { width: w }),
      inputShape,
      numClasses: 10,
      seed: 0,
    });
  } catch {
    return null;
  }
}

export function register(program: Command): void {
  program
    .command('models')
    .description('list the networks and their parameter counts')
    .option(
      '--width <m>',
      'count parameters at this width instead of each default',
      parseNumberOption('--width', { min: 1, integer: true }),
    )
    .option('--json', 'print one JSON object', false)
    .action((f: { width?: number; json: boolean }) => {
      const rows = listModels().map((m) => ({ ...m, params: countFor(m, f.width) }));
      if (f.json) return printJson({ models: rows });
      for (const r of rows) {
        const shape = r.inputShape ? `[${r.inputShape}]` : '';
        const width = f.width ?? r.defaultWidth;
        const params =
          r.params === null ? '' : `${r.params.toLocaleString()} params${width ? ` at width ${width}` : ''}`;
        const extra = [
          ...(r.widthLayers ? [`m: ${r.widthLayers.join(', ')}`] : []),
          ...(r.paramDefaults ? Object.entries(r.paramDefaults).map(([k, v]) => `${k}=${v}`) : []),
          ...(r.torch ? ['PyTorch names'] : []),
          ...(r.fastStep ? [`fast step ${r.fastStep}`] : []),
        ];
        const tail = extra.length > 0 ? ` (${extra.join('; ')})` : '';
        console.log(`${r.name.padEnd(10)} ${params.padEnd(32)} ${shape.padEnd(10)} ${r.description}${tail}`);
      }
    });

  program
    .command('doctor')
    .description('show the compute backend, its kernels and a quick GFLOP/s figure')
    .option('--json', 'print one JSON object', false)
    .action(async (f: { json: boolean }) => {
      const r = await doctorReport();
      if (f.json) return printJson(r);
      console.log(`backend      ${r.backend}${r.native ? ' + native addon' : ' (pure wasm)'}`);
      if (r.gemm) console.log(`gemm         ${r.gemm}`);
      if (r.blasThreads !== null) console.log(`blas threads ${r.blasThreads}`);
      if (r.blas) console.log(`blas         ${r.blas}`);
      if (r.note) console.log(`note         ${r.note}`);
      console.log(`kernels      ${r.kernels.join(', ')}`);
      console.log(
        `matmul       ${r.gflops.matmul} GFLOP/s (256x784 . 784x4096), transposed ${r.gflops.matmulTransposed} GFLOP/s`,
      );
      console.log(`memory       heap limit ${r.memory.heapLimitGiB} GiB, free ${r.memory.freeGiB} GiB`);
      console.log(`node ${r.node}, tfjs ${r.tfjs}`);
    });
}
