import { join } from 'node:path';

/** Where a sweep folder keeps its files. */
export function sweepPaths(out: string) {
  return {
    db: join(out, 'runs.sqlite'),
    surrogate: join(out, 'surrogate.npz'),
    /** Which copy of the dataset the sweep read (e.g. the official CIFAR-10 binaries or the JPEG copy); reports name it. */
    dataSource: join(out, 'data-source.json'),
    poisonDir: join(out, 'poisons'),
    poison: (key: string) => join(out, 'poisons', `${key}.npz`),
    /** A run's per-epoch training checkpoint (removed when the run finishes). */
    checkpoint: (runKey: string) => join(out, 'checkpoints', `${runKey.replace(/\//g, '_')}.npz`),
  };
}
