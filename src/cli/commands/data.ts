import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { type Dataset, numSamples } from '../../data/dataset.js';
import { CIFAR10_MD5, CIFAR10_URL, fetchCifar10 } from '../../data/fetch-cifar.js';
import { jpegRoundTripError } from '../../data/jpeg-error.js';
import { cifar10Source, loadDataset } from '../../data/load.js';
import { check } from '../../util/errors.js';
import { checkOutputFolder } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress } from '../progress.js';

interface FetchFlags {
  from?: string;
  dir: string;
  md5?: string;
  json: boolean;
}

interface InfoFlags {
  limit?: number;
  testLimit?: number;
  classes?: string;
  cacheDir?: string;
  json: boolean;
}

/** Per-split summary printed by `data info`. */
function describe(ds: Dataset) {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (const c of ds.y) counts[c]!++;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of ds.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return {
    name: ds.name,
    samples: numSamples(ds),
    sampleShape: [...ds.sampleShape],
    classCounts: Object.fromEntries(ds.classNames.map((name, i) => [name, counts[i]!])),
    valueRange: numSamples(ds) > 0 ? [min, max] : [],
  };
}

/** `poisonlab data fetch` and `poisonlab data info`. */
export function register(program: Command): void {
  const data = program.command('data').description('get datasets and inspect them');

  data
    .command('fetch')
    .description(`download the CIFAR-10 binary archive (${CIFAR10_URL}), check its md5 and extract it`)
    .argument('<name>', "dataset to fetch: 'cifar10'")
    .option('--from <file|url>', 'a local cifar-10-binary.tar.gz or another URL (default: the official URL)')
    .option('--dir <dir>', 'folder to extract cifar-10-batches-bin into', 'data')
    .option('--md5 <hex>', `expected md5 of the archive (default: the official ${CIFAR10_MD5})`)
    .option('--json', 'print one JSON object', false)
    .action(async (name: string, flags: FetchFlags) => {
      check(name === 'cifar10', `data fetch: unknown dataset '${name}', expected 'cifar10'`);
      checkOutputFolder(flags.dir, '--dir');
      const progress = createProgress({ json: flags.json });
      let started = false;
      note(flags.json, `fetching ${flags.from ?? CIFAR10_URL}`);
      const result = await fetchCifar10({
        from: flags.from,
        dir: flags.dir,
        md5: flags.md5,
        onProgress: (bytes, total) => {
          if (total === undefined) return;
          if (!started) progress.start(total, 'download');
          started = true;
          progress.update(bytes);
        },
      });
      progress.stop();
      if (flags.json) printJson(result);
      else say(false, `md5 ${result.md5} ok; extracted ${result.files.length} files to ${result.dir}`);
    });

  data
    .command('info')
    .description('load a dataset and print its sizes, sample shape and class counts')
    .argument('<spec>', 'mnist, fashion-mnist, cifar10, toy, a dataset directory, or a poisoned .npz')
    .option(
      '--limit <n>',
      'only the first n training samples',
      parseNumberOption('--limit', { min: 1, integer: true }),
    )
    .option(
      '--test-limit <n>',
      'only the first n test samples',
      parseNumberOption('--test-limit', { min: 1, integer: true }),
    )
    .option('--classes <a,b>', "binary task of two classes (a -> -1, b -> +1), or 'even-odd'")
    .option(
      '--cache-dir <dir>',
      'cache of decoded image folders (default $POISONLAB_CACHE or ~/.cache/poisonlab)',
    )
    .option('--json', 'print one JSON object', false)
    .action(async (spec: string, flags: InfoFlags) => {
      const progress = createProgress({ json: flags.json });
      let label = '';
      const t0 = performance.now();
      const split = await loadDataset(spec, {
        limit: flags.limit,
        testLimit: flags.testLimit,
        classes: flags.classes,
        cacheDir: flags.cacheDir,
        onProgress: (done, total, what) => {
          if (what !== label) progress.start(total, `decoding ${what}`);
          label = what;
          progress.update(done);
        },
      });
      progress.stop();
      const seconds = (performance.now() - t0) / 1000;
      // Where the pixels come from, and for a JPEG folder how far JPEG moves them, in the units of B.
      const cifar = spec === 'cifar10' ? cifar10Source() : undefined;
      const folder = cifar?.path ?? spec;
      const trainDir = join(folder, 'train');
      const jpeg =
        existsSync(trainDir) && statSync(trainDir).isDirectory()
          ? await jpegRoundTripError(trainDir, 20)
          : undefined;
      const info = {
        spec,
        ...(cifar && { source: cifar }),
        classNames: [...split.train.classNames],
        train: describe(split.train),
        test: describe(split.test),
        ...(jpeg && { jpegError: jpeg }),
        seconds,
      };
      if (flags.json) return printJson(info);
      say(
        false,
        `${spec}: ${info.classNames.length} classes [${info.classNames.join(', ')}] (${seconds.toFixed(1)} s)`,
      );
      if (cifar) say(false, `  source: ${cifar.description}`);
      if (jpeg) {
        const f = (v: number) => v.toFixed(3);
        say(
          false,
          `  JPEG (quality ~${jpeg.offset.quality}) error per image, l2 over [0, 1] pixels (the units of B; B = 1 in the paper), ${jpeg.offset.images} training images: ` +
            `a fresh pass (offset half a block) median ${f(jpeg.offset.median)}, p95 ${f(jpeg.offset.p95)}, max ${f(jpeg.offset.max)}; ` +
            `the same-grid round trip of the files themselves median ${f(jpeg.aligned.median)}, mean ${f(jpeg.aligned.mean)} (JPEG is nearly idempotent: a lower bound)`,
        );
      }
      for (const part of [info.train, info.test]) {
        const counts = Object.entries(part.classCounts)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ');
        say(
          false,
          `  ${part.name}: ${part.samples} samples of shape [${part.sampleShape}], values in [${part.valueRange.join(', ')}]`,
        );
        say(false, `    ${counts}`);
      }
    });
}
