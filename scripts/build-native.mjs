// npm "install" script: builds the optional OpenBLAS addon (native/) with node-gyp.
// It never fails the install: without a compiler or libopenblas-dev poisonlab runs on pure wasm,
// so on failure it prints ONE line saying why and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');

function skip(why) {
  console.log(`poisonlab: native OpenBLAS addon not built (${why}); using the pure-wasm kernels`);
  process.exit(0);
}

if (process.env.POISONLAB_NATIVE === '0') skip('POISONLAB_NATIVE=0');
if (!existsSync(join(nativeDir, 'binding.gyp'))) skip('native/binding.gyp is missing');
if (
  !['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'].some(
    existsSync,
  )
)
  skip('cblas.h not found: install libopenblas-dev');

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
const args = [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const res = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8' });
if (res.status !== 0) {
  const lines = `${res.stderr ?? ''}\n${res.stdout ?? ''}`.split('\n').map((l) => l.trim());
  const err = lines.find(
    (l) => /error/i.test(l) && !/^gyp ERR! (stack|System|command|cwd|node|node-gyp|not ok)/.test(l),
  );
  skip(`node-gyp failed: ${(err ?? `exit code ${res.status}`).slice(0, 200)}`);
}
console.log('poisonlab: native OpenBLAS addon built (native/build/Release/poisonlab_native.node)');
