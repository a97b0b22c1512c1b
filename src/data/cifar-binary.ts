import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { check, fileSystemError, PoisonlabError } from '../util/errors.js';
import { CIFAR10_CLASSES } from './builtin.js';
import { plainBytes } from './bytes.js';
import { type Dataset, type DatasetSplit, validateDataset } from './dataset.js';

/** One CIFAR-10 binary record: 1 label byte, then 3 x 32 x 32 bytes as R, G and B planes (CHW). */
export const CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32;
const SIDE = 32;
const PLANE = SIDE * SIDE;

/** The official file names in `cifar-10-batches-bin`. */
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_FILE = 'test_batch.bin';

/**
 * Decode CIFAR-10 binary records into NHWC float32 pixels in [0, 1] and labels.
 * `what` names the source in errors; the length must be a multiple of 3073 bytes.
 */
export function parseCifarRecords(
  raw: Uint8Array,
  what: string,
  numClasses = 10,
): { x: Float32Array; y: Int32Array } {
  const bytes = plainBytes(raw);
  check(
    bytes.length % CIFAR_RECORD_BYTES === 0,
    `${what}: ${bytes.length} bytes is not a multiple of the ${CIFAR_RECORD_BYTES}-byte CIFAR-10 record (1 label + 3072 pixels)`,
  );
  const n = bytes.length / CIFAR_RECORD_BYTES;
  const x = new Float32Array(n * 3 * PLANE);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR_RECORD_BYTES;
    const label = bytes[rec]!;
    check(label < numClasses, () => `${what}: record ${i} has label ${label}, expected 0..${numClasses - 1}`);
    y[i] = label;
    const out = i * 3 * PLANE;
    // CHW planes -> HWC: pixel p of channel c goes to (p * 3 + c).
    for (let c = 0; c < 3; c++) {
      const plane = rec + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) x[out + p * 3 + c] = bytes[plane + p]! / 255;
    }
  }
  return { x, y };
}

/** Read class names from `batches.meta.txt` (one per line, blank lines ignored), or CIFAR-10's defaults. */
export function readCifarClassNames(dir: string): string[] {
  const file = join(dir, 'batches.meta.txt');
  if (!existsSync(file)) return [...CIFAR10_CLASSES];
  const names = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  check(names.length === 10, `${file}: expected 10 class names, found ${names.length}`);
  return names;
}

/** True when `dir` looks like the official `cifar-10-batches-bin` folder. */
export function isCifarBinaryDir(dir: string): boolean {
  return [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].every((f) => existsSync(join(dir, f)));
}

function loadFiles(dir: string, files: string[], name: string, classNames: string[]): Dataset {
  const parts: { x: Float32Array; y: Int32Array }[] = [];
  for (const f of files) {
    const path = join(dir, f);
    check(existsSync(path), `${dir}: CIFAR-10 file ${f} not found`);
    let bytes: Uint8Array;
    try {
      check(statSync(path).isFile(), `${path}: expected a file`);
      bytes = readFileSync(path);
    } catch (e) {
      if (e instanceof PoisonlabError) throw e;
      throw (
        fileSystemError(e, { path, expected: 'a CIFAR-10 batch file' }) ??
        new PoisonlabError(`${path}: cannot read file (${String(e)})`)
      );
    }
    parts.push(parseCifarRecords(bytes, path, classNames.length));
  }
  const n = parts.reduce((a, p) => a + p.y.length, 0);
  const x = new Float32Array(n * 3 * PLANE);
  const y = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * 3 * PLANE);
    y.set(p.y, at);
    at += p.y.length;
  }
  return validateDataset({ name, x, y, sampleShape: [SIDE, SIDE, 3], classNames });
}

/**
 * Load the official CIFAR-10 binary folder (`cifar-10-batches-bin`): data_batch_1..5.bin as the
 * training split (50,000), test_batch.bin as the test split (10,000), class names from batches.meta.txt.
 */
export function loadCifarBinaryDir(dir: string, opts: { name?: string } = {}): DatasetSplit {
  const classNames = readCifarClassNames(dir);
  const name = opts.name ?? basename(dir);
  return {
    train: loadFiles(dir, CIFAR_TRAIN_FILES, `${name}/train`, classNames),
    test: loadFiles(dir, [CIFAR_TEST_FILE], `${name}/test`, classNames),
  };
}
