/** Datasets: sources (MNIST, Fashion-MNIST, CIFAR-10, image folders, the toy, poisoned .npz), splits and tasks. */
export * from './binary-task.js';
export * from './builtin.js';
export * from './cifar-binary.js';
export * from './dataset.js';
export * from './fetch-cifar.js';
export * from './idx.js';
export * from './image-folder.js';
export * from './load.js';
export * from './split.js';
export * from './tar.js';
export * from './tensor-cache.js';
export * from './toy.js';
