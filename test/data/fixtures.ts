import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from '../../src/data/builtin.js';
import { CIFAR_RECORD_BYTES } from '../../src/data/cifar-binary.js';

/** n CIFAR-10 binary records; record i has label (i + offset) % 10 and byte (i + 7c + p) % 256 at channel c, pixel p. */
export function cifarRecords(n: number, offset = 0): Uint8Array {
  const out = new Uint8Array(n * CIFAR_RECORD_BYTES);
  for (let i = 0; i < n; i++) {
    const r = i * CIFAR_RECORD_BYTES;
    out[r] = (i + offset) % 10;
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++) out[r + 1 + c * 1024 + p] = (i + c * 7 + p) % 256;
  }
  return out;
}

/** Write a small `cifar-10-batches-bin` folder (4 records per training batch, 3 test records) under `parent`. */
export function writeCifarBinaryDir(parent: string): string {
  const dir = join(parent, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), cifarRecords(4, b));
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords(3));
  writeFileSync(join(dir, 'batches.meta.txt'), `${CIFAR10_CLASSES.join('\n')}\n\n`);
  return dir;
}
