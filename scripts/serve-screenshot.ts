/**
 * A screenshot of one view of `poisonlab serve` (how docs/img/serve-width.png was made), in Debian's chromium:
 *   node --import tsx scripts/serve-screenshot.ts <sweep dir> <out.png> [overview|width|runs]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../src/serve/server.js';

const [dir, out, view = 'width'] = process.argv.slice(2);
if (!dir || !out) {
  process.stderr.write('usage: serve-screenshot.ts <sweep dir> <out.png> [overview|width|runs]\n');
  process.exit(2);
}
const server = await startServer({ dirs: [dir], port: 0 });
const profile = mkdtempSync(join(tmpdir(), 'poisonlab-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  viewport: { width: 1000, height: 600 },
});
try {
  const page = await context.newPage();
  await page.goto(`${server.url}#${view}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(
    (v) =>
      (window as unknown as { __poisonlab: { renders: Record<string, number> } }).__poisonlab.renders[v]! > 0,
    view,
  );
  await page.screenshot({ path: out, fullPage: view !== 'width' });
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
