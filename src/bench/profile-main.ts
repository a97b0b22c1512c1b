// Where a workload's step time goes, kernel by kernel:
//   node --import tsx src/bench/profile-main.ts mnist_cnn_train_m100[,cifar_cnn_train_m100] [steps] [top]
import { initBackend } from '../backend/index.js';
import { profileWorkload } from './profile.js';
import { WORKLOADS } from './workloads.js';

async function main(): Promise<void> {
  const [names = 'mnist_cnn_train_m100', steps = '5', top = '15'] = process.argv.slice(2);
  const info = await initBackend({});
  console.log(`backend: ${info.backend}${info.native ? `+native (${info.gemm})` : ''}`);
  for (const name of names.split(',')) {
    const w = WORKLOADS.find((x) => x.name === name);
    if (!w) throw new Error(`unknown workload '${name}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
    const p = await profileWorkload(w, Number(steps));
    console.log(
      `${name}: wall ${p.wallMsPerStep.toFixed(1)} ms/step, cpu ${p.cpuMsPerStep.toFixed(1)} ms/step, ` +
        `${Math.round(p.kernelsPerStep)} kernels/step (op-level entries such as fusedConv2d__op include their kernel)`,
    );
    for (const k of p.kernels.slice(0, Number(top)))
      console.log(
        `${k.msPerStep.toFixed(2).padStart(8)} ms ${Math.round(k.callsPerStep).toString().padStart(3)}x ${k.kernel} ${JSON.stringify(k.inputShapes)}`,
      );
  }
}

main().catch((e: Error) => {
  console.error(`profile: ${e.message}`);
  process.exit(1);
});
