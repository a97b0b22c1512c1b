/** Datasets: sources (MNIST, Fashion-MNIST, CIFAR-10, image folders, the toy, poisoned .npz), splits and tasks. */
export * from './binaryTask.js';
export * from './builtin.js';
export * from './cifarBinary.js';
export * from './dataset.js';
export * from './fetchCifar.js';
export * from './idx.js';
export * from './imageFolder.js';
export * from './load.js';
export * from './split.js';
export * from './tar.js';
export * from './tensorCache.js';
export * from './toy.js';
