import { check } from '../util/errors.js';
import { type Dataset, subset, validateDataset } from './dataset.js';

/**
 * Resolve a class reference (an index like `3` or a class name like `cat`) to its index.
 * Names win over indices when a class is literally named like a number (MNIST's '3' is index 3 anyway).
 */
function classIndex(ds: Dataset, ref: string, spec: string): number {
  const byName = ds.classNames.indexOf(ref);
  if (byName >= 0) return byName;
  const k = ds.classNames.length;
  check(
    /^\d+$/.test(ref) && Number(ref) < k,
    `binary task '${spec}': class '${ref}' is neither a class name of ${ds.name} nor an index in 0..${k - 1}`,
  );
  return Number(ref);
}

/**
 * A binary task from a multi-class dataset, in the theory's convention class 0 = label -1,
 * class 1 = label +1:
 * - `'a,b'` keeps only classes a and b (names or indices): a -> class 0, b -> class 1;
 *   class names become [name(a), name(b)];
 * - `'even-odd'` keeps every sample: even class index -> class 0 ('even'), odd -> class 1 ('odd').
 */
export function binaryTask(ds: Dataset, spec: string): Dataset {
  const s = spec.trim();
  if (s === 'even-odd') {
    const y = new Int32Array(ds.y.length);
    for (let i = 0; i < y.length; i++) y[i] = ds.y[i]! % 2;
    return validateDataset({ ...ds, name: `${ds.name} [even-odd]`, y, classNames: ['even', 'odd'] });
  }
  const parts = s.split(',').map((p) => p.trim());
  check(
    parts.length === 2 && parts.every((p) => p.length > 0),
    `binary task '${spec}': expected 'a,b' (two classes) or 'even-odd'`,
  );
  const a = classIndex(ds, parts[0]!, spec);
  const b = classIndex(ds, parts[1]!, spec);
  check(a !== b, `binary task '${spec}': the two classes must differ`);
  const keep: number[] = [];
  for (let i = 0; i < ds.y.length; i++) if (ds.y[i] === a || ds.y[i] === b) keep.push(i);
  const names = [ds.classNames[a]!, ds.classNames[b]!];
  const picked = subset(ds, keep, `${ds.name} [${names.join(' vs ')}]`);
  const y = picked.y.map((c) => (c === a ? 0 : 1));
  return validateDataset({ ...picked, y, classNames: names });
}
