/**
 * The dashboard's static files: the page, its script and style (web/ in the package) and the vega, vega-lite
 * and vega-embed browser builds (from node_modules). A fixed table, name -> file: no URL path is ever joined to
 * a folder, so nothing outside these files can be served.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, PoisonlabError } from '../util/errors.js';

export interface Asset {
  type: string;
  body: Buffer;
}

/** The package's web/ folder: two levels up under tsx (src/serve), three when compiled (dist/src/serve). */
function webDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'web');
    if (existsSync(join(candidate, 'dashboard.html'))) return candidate;
    dir = dirname(dir);
  }
  throw new PoisonlabError('web/dashboard.html: the dashboard page is missing (expected it in the package)');
}

/** The root folder of an installed package (its entry point resolved, then up to its package.json). */
function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || basename(dir) !== name) {
    const up = dirname(dir);
    check(up !== dir, `${name}: cannot find the package's folder (is it installed?)`);
    dir = up;
  }
  return dir;
}

const JS = 'text/javascript; charset=utf-8';

/** URL path -> [content type, file]. */
function table(): Record<string, [string, string]> {
  const web = webDir();
  return {
    '/': ['text/html; charset=utf-8', join(web, 'dashboard.html')],
    '/dashboard.js': [JS, join(web, 'dashboard.js')],
    '/dashboard.css': ['text/css; charset=utf-8', join(web, 'dashboard.css')],
    '/vendor/vega.min.js': [JS, join(packageDir('vega'), 'build', 'vega.min.js')],
    '/vendor/vega-lite.min.js': [JS, join(packageDir('vega-lite'), 'build', 'vega-lite.min.js')],
    '/vendor/vega-embed.min.js': [JS, join(packageDir('vega-embed'), 'build', 'vega-embed.min.js')],
  };
}

/** Read every asset once (a missing one is an error at start, not a 404 later). */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [path, [type, file]] of Object.entries(table())) {
    check(existsSync(file), `${file}: a dashboard file is missing (expected it in the installed package)`);
    assets.set(path, { type, body: readFileSync(file) });
  }
  return assets;
}
