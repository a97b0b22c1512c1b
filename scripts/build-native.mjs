// npm "install" script: builds the native addon (native/) with node-gyp. It needs only a C compiler:
// the addon always carries the project's own matrix product, and links the system BLAS too when it
// finds one (OpenBLAS's cblas.h on Linux, Accelerate on macOS). POISONLAB_BLAS=own builds without it
// even when it is installed (a machine without libopenblas-dev), =openblas / =accelerate insists on it.
// It never fails the install: without a compiler poisonlab runs on pure wasm, so on failure it
// prints ONE line saying why and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const built = 'native/build/Release/poisonlab_native.node';

function skip(why) {
  console.log(`poisonlab: native addon not built (${why}); using the pure-wasm kernels`);
  process.exit(0);
}

if (process.env.POISONLAB_NATIVE === '0') skip('POISONLAB_NATIVE=0');
if (!existsSync(join(nativeDir, 'binding.gyp'))) skip('native/binding.gyp is missing');

const CBLAS_HEADERS = [
  '/usr/include/x86_64-linux-gnu/cblas.h',
  '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/cblas.h',
  '/usr/include/openblas/cblas.h',
];

/** The system BLAS to link: [name, why] with name 'openblas', 'accelerate' or 'own' (none). */
function chooseBlas() {
  const want = process.env.POISONLAB_BLAS;
  if (want && !['own', 'openblas', 'accelerate'].includes(want))
    skip(`POISONLAB_BLAS=${want}: expected own, openblas or accelerate`);
  if (want) return [want, `POISONLAB_BLAS=${want}`];
  if (process.platform === 'darwin') return ['accelerate', 'macOS'];
  if (CBLAS_HEADERS.some((h) => existsSync(h))) return ['openblas', 'cblas.h found'];
  return ['own', 'no cblas.h; libopenblas-dev would add OpenBLAS'];
}

// The project's own node-gyp (a devDependency) in a checkout; when installed from the registry or a tarball,
// the one npm ships, which npm names in npm_config_node_gyp for install scripts.
let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  gyp = process.env.npm_config_node_gyp;
  if (!gyp || !existsSync(gyp)) skip('node-gyp not found (neither installed here nor named by npm)');
}
// Build against the running Node's own headers when npm did not name them (no download needed).
const localNode = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ??
  (existsSync(join(localNode, 'include', 'node', 'node_api.h')) ? localNode : undefined);

/** Runs node-gyp rebuild linking `blas`; returns null on success, else the first error line. */
function build(blas) {
  const args = [gyp, 'rebuild', `--poisonlab_blas=${blas}`, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const res = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8' });
  if (res.status === 0) return null;
  const lines = `${res.stderr ?? ''}\n${res.stdout ?? ''}`.split('\n').map((l) => l.trim());
  const err = lines.find(
    (l) => /error/i.test(l) && !/^gyp ERR! (stack|System|command|cwd|node|node-gyp|not ok)/.test(l),
  );
  return (err ?? `exit code ${res.status}`).slice(0, 200);
}

const [blas, why] = chooseBlas();
const library = { openblas: 'OpenBLAS', accelerate: 'Accelerate' }[blas];
const failed = build(blas);
if (!failed) {
  console.log(
    library
      ? `poisonlab: native addon built with ${library} and the project's own sgemm (${built})`
      : `poisonlab: native addon built with the project's own sgemm (${why}) (${built})`,
  );
  process.exit(0);
}
// a system library that was asked for by name is not replaced silently
if (blas === 'own' || process.env.POISONLAB_BLAS) skip(`node-gyp failed: ${failed}`);
const failedOwn = build('own');
if (failedOwn) skip(`node-gyp failed: ${failedOwn}`);
console.log(
  `poisonlab: native addon built with the project's own sgemm (linking ${library} failed: ${failed.slice(0, 120)}) (${built})`,
);
