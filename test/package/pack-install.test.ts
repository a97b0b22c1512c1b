/**
 * The published package works: `npm pack` (which builds dist/ through `prepare`), install the tarball into a
 * new project, run its install script there (it builds the native addon), and run `npx poisonlab doctor`.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The checkout: the nearest folder above this test whose package.json is poisonlab's. */
function projectRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'poisonlab')
      return dir;
  }
  throw new Error('poisonlab package.json not found above the test');
}

const ROOT = projectRoot();
const work = mkdtempSync(join(tmpdir(), 'poisonlab-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Under `npm test` the environment holds the outer npm's npm_* settings (its prefix, its lifecycle); the npm
// run here must see only the user's own settings, as on a fresh shell.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
);

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 400_000, maxBuffer: 64 << 20 });
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} failed (${r.error ?? r.signal ?? r.status}):\n${r.stderr}\n${r.stdout}`,
  );
  return r;
}

test('npm pack, install the tarball in a new project, build the addon there, npx poisonlab doctor', {
  timeout: 900_000,
}, () => {
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  // `prepare` (tsc) may print before the JSON
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = info!.files.map((f) => f.path);
  for (const need of [
    'dist/src/cli/main.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'scripts/build-native.mjs',
    'native/binding.gyp',
    'native/src/addon.c',
    'web/dashboard.html',
  ])
    assert.ok(files.includes(need), `the tarball holds ${need}`);
  const stray = files.filter((f) => /^(native\/build|test|dist\/test|src)\//.test(f));
  assert.deepEqual(stray, [], 'no local build, tests or TypeScript sources in the tarball');

  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'poisonlab-pack-test', private: true }),
  );
  // The dependencies install as published but without their own scripts (better-sqlite3 compiles SQLite for
  // minutes where its prebuilt binary cannot be downloaded; doctor does not need it). poisonlab's install
  // script then runs as npm runs it on a user's install.
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      join(work, info!.filename),
    ],
    project,
  );
  const installed = join(project, 'node_modules', 'poisonlab');
  const build = run('npm', ['rebuild', 'poisonlab', '--foreground-scripts'], project);
  const addon = join(installed, 'native', 'build', 'Release', 'poisonlab_native.node');
  if (process.env['POISONLAB_REQUIRE_NATIVE'] === '1')
    assert.ok(existsSync(addon), `the install script built the addon:\n${build.stdout}\n${build.stderr}`);

  const doctor = run('npx', ['--no-install', 'poisonlab', 'doctor', '--json'], project);
  const report = JSON.parse(doctor.stdout) as { backend: string; native: boolean; kernels: string[] };
  assert.equal(report.backend, 'wasm');
  assert.equal(report.native, existsSync(addon), 'doctor reports the addon the install built');
  assert.ok(report.kernels.length > 0);
  const text = run('npx', ['--no-install', 'poisonlab', 'doctor'], project);
  assert.match(text.stdout, /^backend +wasm/m);
  // the installed CLI's errors are the one-line form too
  const bad = spawnSync('npx', ['--no-install', 'poisonlab', 'doctor', '--frob'], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.equal(
    bad.stderr,
    "poisonlab: --frob: expected an option of 'poisonlab doctor' (see poisonlab doctor --help)\n",
  );
});
