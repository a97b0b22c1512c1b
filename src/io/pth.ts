/**
 * PyTorch checkpoints (`torch.save(model.state_dict(), path)`) read without Python, in both layouts:
 *
 * - the zip archive of PyTorch >= 1.6: `<prefix>/data.pkl` (the pickled state_dict), `<prefix>/data/<key>`
 *   (each storage's raw bytes in the writer's byte order), `<prefix>/version`, and since PyTorch 2.1
 *   `<prefix>/byteorder` ('little' or 'big'; absent means little);
 * - the legacy stream of PyTorch < 1.6 (`_use_new_zipfile_serialization=False`): five pickles one after
 *   the other (magic number, protocol version 1001, system info, the state_dict, the list of storage
 *   keys), then each storage as an int64 element count and its little-endian bytes.
 *
 * The state_dict pickle is evaluated by the restricted unpickler of ./pickle.ts with a policy that knows
 * exactly what a state_dict needs: collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
 * _rebuild_parameter, and the storage types of float, half, bfloat16, integer and bool tensors named in
 * persistent ids `('storage', torch.FloatStorage, key, location, numel)`. Anything else is refused with
 * a one-line error naming the file. Strides and storage offsets are honoured, so views and transposed
 * (non-contiguous) tensors come out as the values PyTorch would show.
 */
import { check, PoisonlabError } from '../util/errors.js';
import {
  type DictKey,
  PyDict,
  PyGlobal,
  PyList,
  PyObject,
  PyTuple,
  type PyValue,
  typeName,
  type UnpicklePolicy,
  unpickle,
} from './pickle.js';
import { readFileBytes } from './read-bytes.js';
import { DTYPE_SIZE, type DType, numel, type RawTensor } from './tensor.js';
import { ZipReader } from './zip.js';

/** The storage classes a state_dict may name, and their element types. */
const STORAGE_TYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const ORDERED_DICT = 'collections.OrderedDict';

/** What a state_dict pickle may hold, for error messages. */
const EXPECTED =
  'a state_dict: collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, ' +
  "torch.<Float|Double|Half|BFloat16|Long|Int|Short|Char|Byte|Bool>Storage and ('storage', ...) persistent ids";

/** Magic number and protocol version that open a legacy (pre-1.6) checkpoint. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** A storage named by a persistent id: `numel` elements of `dtype` from element `offset` of storage `key`. */
interface StorageRef {
  key: string;
  dtype: DType;
  offset: number;
  numel: number;
}

/** A tensor before its storage is read: a strided view of a storage. */
interface TensorRef {
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

/** A PyTorch state_dict read from a file: tensors by name, in the file's order. */
export interface TorchStateDict {
  tensors: Map<string, RawTensor>;
  /** 'zip' (PyTorch >= 1.6) or 'legacy' (the older pickle stream). */
  format: 'zip' | 'legacy';
  /** Where the state_dict sat in the file: '' at the top, or the key of a wrapping dict, e.g. 'state_dict'. */
  wrappedIn: string;
}

/** Keys under which training scripts commonly wrap a state_dict with other values ({'net': ..., 'acc': ...}). */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model', 'net'];

const isStorageGlobal = (v: PyValue): v is PyGlobal =>
  v instanceof PyGlobal &&
  (v.module === 'torch' || v.module === 'torch.cuda') &&
  Object.hasOwn(STORAGE_TYPES, v.name);

function allowedGlobals(): Set<string> {
  const names = [ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER];
  for (const s of Object.keys(STORAGE_TYPES)) names.push(`torch.${s}`, `torch.cuda.${s}`);
  return new Set(names);
}

const nonNegInt = (v: PyValue): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function intTuple(v: PyValue): number[] | undefined {
  return v instanceof PyTuple && v.items.every(nonNegInt) ? (v.items as number[]) : undefined;
}

/**
 * The unpickling policy of a state_dict. `legacy` selects the persistent id of the legacy format
 * (6 items: the 5 of the zip format plus view metadata).
 */
function stateDictPolicy(legacy: boolean): { policy: UnpicklePolicy; storages: Map<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const policy: UnpicklePolicy = {
    globals: allowedGlobals(),
    expected: EXPECTED,
    calls: {
      [ORDERED_DICT]: (args, fail) => {
        if (args.items.length !== 0) fail(`expected no arguments, got ${args.items.length}`);
        return new PyDict(true);
      },
      [REBUILD_TENSOR]: (args, fail) => {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        const [storage, offset, size, stride, requiresGrad, hooks] = args.items;
        if (args.items.length !== 6 && args.items.length !== 7)
          fail(`expected 6 or 7 arguments, got ${args.items.length}`);
        if (!(storage instanceof PyObject && storage.kind === 'storage'))
          fail(`argument 1: expected a storage, got a ${typeName(storage ?? null)}`);
        if (!nonNegInt(offset ?? null)) fail('argument 2: expected a non-negative storage offset');
        const shape = intTuple(size ?? null);
        const strides = intTuple(stride ?? null);
        if (!shape) fail('argument 3: expected a tuple of non-negative sizes');
        if (!strides || strides.length !== shape!.length)
          fail(`argument 4: expected a tuple of ${shape!.length} non-negative strides`);
        if (typeof requiresGrad !== 'boolean') fail('argument 5: expected requires_grad, a bool');
        if (!(hooks instanceof PyDict)) fail('argument 6: expected backward hooks, an OrderedDict');
        const ref: TensorRef = {
          storage: (storage as PyObject<StorageRef>).value,
          offset: offset as number,
          size: shape!,
          stride: strides!,
        };
        return new PyObject('tensor', ref);
      },
      [REBUILD_PARAMETER]: (args, fail) => {
        // (data, requires_grad, backward_hooks): a Parameter is its data here
        const [data, requiresGrad, hooks] = args.items;
        if (args.items.length !== 3) fail(`expected 3 arguments, got ${args.items.length}`);
        if (!(data instanceof PyObject && data.kind === 'tensor'))
          fail(`argument 1: expected a tensor, got a ${typeName(data ?? null)}`);
        if (typeof requiresGrad !== 'boolean') fail('argument 2: expected requires_grad, a bool');
        if (!(hooks instanceof PyDict)) fail('argument 3: expected backward hooks, an OrderedDict');
        return data!;
      },
    },
    persistentLoad: (pid, fail) => {
      const items = pid instanceof PyTuple ? pid.items : [];
      const arity = legacy ? 6 : 5;
      if (items.length !== arity || items[0] !== 'storage')
        fail(
          `expected ('storage', storage type, key, location, numel${legacy ? ', view' : ''}), got a ${typeName(pid)}` +
            (pid instanceof PyTuple ? ` of ${items.length} items` : ''),
        );
      const [, type, key, location, size, view] = items;
      if (!isStorageGlobal(type!))
        fail(`storage type ${typeName(type!)} is not a float, half or integer storage`);
      if (typeof key !== 'string') fail(`storage key: expected a str, got a ${typeName(key!)}`);
      if (typeof location !== 'string')
        fail(`storage location: expected a str, got a ${typeName(location!)}`);
      if (!nonNegInt(size!)) fail('storage size: expected a non-negative element count');
      const dtype = STORAGE_TYPES[(type as PyGlobal).name]!;
      const k = key as string;
      const known = storages.get(k);
      if (known && (known.dtype !== dtype || known.numel !== size))
        fail(`storage '${k}' is named twice with different types or sizes`);
      const root: StorageRef = known ?? { key: k, dtype, offset: 0, numel: size as number };
      storages.set(k, root);
      if (!legacy || view === null) return new PyObject('storage', root);
      // legacy view metadata: (view_key, offset, view_size), elements of the root storage
      const v = view instanceof PyTuple ? view.items : [];
      if (v.length !== 3 || typeof v[0] !== 'string' || !nonNegInt(v[1]!) || !nonNegInt(v[2]!))
        fail('storage view: expected None or (view key, offset, size)');
      const [offset, count] = [v[1] as number, v[2] as number];
      if (offset + count > root.numel)
        fail(`storage view of ${count} elements at ${offset} runs past its storage of ${root.numel}`);
      return new PyObject('storage', { ...root, offset, numel: count } satisfies StorageRef);
    },
    build: (obj, state) => {
      // An OrderedDict's attributes (torch stores `_metadata`, the modules' versions, this way).
      if (!(obj instanceof PyDict && state instanceof PyDict)) return false;
      for (const [k, v] of state.entries) {
        if (typeof k !== 'string') return false;
        obj.attributes.set(k, v);
      }
      return true;
    },
  };
  return { policy, storages };
}

/** Read a PyTorch checkpoint file (zip or legacy format) holding a state_dict. Errors name the file. */
export function readPth(path: string): TorchStateDict {
  return parsePth(readFileBytes(path, 'a PyTorch checkpoint file'), path);
}

/** Parse the bytes of a PyTorch checkpoint; `what` names it in errors. */
export function parsePth(bytes: Uint8Array, what: string): TorchStateDict {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)
    return parseZip(bytes, what);
  if (bytes[0] === 0x80 && bytes[1] === 0x02 && bytes[2] === 0x8a) return parseLegacy(bytes, what);
  const tar = bytes.length > 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar';
  throw new PoisonlabError(
    `${what}: not a PyTorch checkpoint (${tar ? 'a tar archive, the format of PyTorch < 0.4, is not supported' : 'unknown leading bytes'}; ` +
      'expected the zip archive of torch.save, or the legacy pickle stream of PyTorch < 1.6)',
  );
}

function parseZip(bytes: Uint8Array, what: string): TorchStateDict {
  // Entries are inflated one at a time, each checked against its declared size and the cap (./zip.ts); a
  // storage is read only when a tensor needs it, after its declared size is checked against its persistent id.
  const zip = new ZipReader(bytes, what);
  const names = [...zip.entries.keys()];
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  check(
    pickles.length === 1,
    `${what}: ${pickles.length === 0 ? 'no' : 'more than one'} <prefix>/data.pkl in the zip archive ` +
      '(expected one, as torch.save writes)',
  );
  const prefix = pickles[0]!.slice(0, -'/data.pkl'.length);
  const entry = (name: string) => (zip.entries.has(name) ? zip.read(name) : undefined);
  const version = entry(`${prefix}/version`) ?? entry(`${prefix}/.data/version`);
  check(
    version,
    `${what}: no ${prefix}/version in the zip archive (expected the format version torch.save writes)`,
  );
  const versionText = new TextDecoder().decode(version).trim();
  check(/^\d+$/.test(versionText), `${what}: ${prefix}/version is '${versionText}', expected an integer`);
  const order = entry(`${prefix}/byteorder`);
  const orderText = order ? new TextDecoder().decode(order).trim() : 'little';
  check(
    orderText === 'little' || orderText === 'big',
    `${what}: ${prefix}/byteorder is '${orderText}', expected 'little' or 'big'`,
  );
  const pickleWhat = `${what}: ${prefix}/data.pkl`;
  const pkl = zip.read(`${prefix}/data.pkl`);
  const { value, end } = unpickle(pkl, pickleWhat, stateDictPolicy(false).policy);
  check(end === pkl.length, `${pickleWhat}: ${pkl.length - end} bytes after STOP (expected one pickle)`);
  const { refs, wrappedIn } = stateDictRefs(value, pickleWhat);
  const read = new Map<string, Uint8Array>();
  const storage = (ref: StorageRef): Uint8Array => {
    const name = `${prefix}/data/${ref.key}`;
    const e = zip.entries.get(name);
    check(e, `${what}: storage '${ref.key}' is missing (expected an entry ${name})`);
    const size = DTYPE_SIZE[ref.dtype];
    check(
      e.size >= (ref.offset + ref.numel) * size,
      `${what}: ${name} has ${e.size} bytes, expected ${(ref.offset + ref.numel) * size} ` +
        `(${ref.offset + ref.numel} ${ref.dtype} elements)`,
    );
    let data = read.get(name);
    if (!data) {
      data = zip.read(name);
      if (orderText === 'big') data = swapBytes(data, size);
      read.set(name, data);
    }
    return data;
  };
  return { tensors: materialise(refs, storage, what), format: 'zip', wrappedIn };
}

function parseLegacy(bytes: Uint8Array, what: string): TorchStateDict {
  const plain: UnpicklePolicy = { globals: new Set(), expected: 'a legacy PyTorch checkpoint header' };
  const magic = unpickle(bytes, `${what}: magic number`, plain);
  check(
    magic.value === LEGACY_MAGIC,
    `${what}: not a PyTorch checkpoint (the leading number is not torch's magic number; expected 0x1950a86a20f9469cfc6c)`,
  );
  const protocol = unpickle(bytes, `${what}: protocol version`, plain, magic.end);
  check(
    protocol.value === LEGACY_PROTOCOL,
    `${what}: legacy protocol version ${String(protocol.value)}, expected ${LEGACY_PROTOCOL}`,
  );
  const sysInfo = unpickle(bytes, `${what}: system info`, plain, protocol.end);
  check(
    sysInfo.value instanceof PyDict,
    `${what}: system info is a ${typeName(sysInfo.value)}, expected a dict`,
  );
  check(
    sysInfo.value.entries.get('little_endian') !== false,
    `${what}: written on a big-endian machine (expected a little-endian legacy checkpoint)`,
  );
  const { policy, storages } = stateDictPolicy(true);
  const main = unpickle(bytes, `${what}: state_dict`, policy, sysInfo.end);
  const { refs, wrappedIn } = stateDictRefs(main.value, `${what}: state_dict`);
  const keys = unpickle(bytes, `${what}: storage keys`, plain, main.end);
  check(
    keys.value instanceof PyList && keys.value.items.every((k) => typeof k === 'string'),
    `${what}: the storage key list is a ${typeName(keys.value)}, expected a list of str`,
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value.items as string[]) {
    check(
      pos + 8 <= bytes.length,
      `${what}: storage '${key}' is truncated (expected its int64 element count)`,
    );
    const count = Number(view.getBigInt64(pos, true));
    pos += 8;
    const root = storages.get(key);
    check(
      root,
      `${what}: storage '${key}' is listed but no persistent id names it (expected one per storage)`,
    );
    const size = DTYPE_SIZE[root.dtype];
    check(
      count === root.numel,
      `${what}: storage '${key}' holds ${count} elements, expected ${root.numel} as its persistent id says`,
    );
    check(
      count >= 0 && pos + count * size <= bytes.length,
      `${what}: storage '${key}' is truncated (expected ${count * size} bytes, ${bytes.length - pos} left)`,
    );
    data.set(key, bytes.subarray(pos, pos + count * size));
    pos += count * size;
  }
  const storage = (ref: StorageRef): Uint8Array => {
    const d = data.get(ref.key);
    check(
      d,
      `${what}: storage '${ref.key}' is not in the storage key list (expected it after the state_dict)`,
    );
    return d;
  };
  return { tensors: materialise(refs, storage, what), format: 'legacy', wrappedIn };
}

/** The tensors of an unpickled state_dict (possibly wrapped in a dict with other plain values). */
function stateDictRefs(value: PyValue, what: string): { refs: Map<string, TensorRef>; wrappedIn: string } {
  const isTensor = (v: PyValue) => v instanceof PyObject && v.kind === 'tensor';
  const asStateDict = (v: PyValue): Map<string, TensorRef> | undefined => {
    if (!(v instanceof PyDict)) return undefined;
    const out = new Map<string, TensorRef>();
    for (const [k, t] of v.entries) {
      if (typeof k !== 'string' || !isTensor(t)) return undefined;
      out.set(k, (t as PyObject<TensorRef>).value);
    }
    return out;
  };
  const direct = asStateDict(value);
  if (direct) return { refs: direct, wrappedIn: '' };
  if (value instanceof PyDict) {
    for (const key of WRAPPER_KEYS) {
      const inner = asStateDict(value.entries.get(key) ?? null);
      if (inner) return { refs: inner, wrappedIn: key };
    }
    const bad = [...value.entries].find(([k, t]) => typeof k !== 'string' || !isTensor(t));
    const [k, t] = bad ?? [null as DictKey, null as PyValue];
    const why =
      typeof k === 'string'
        ? `entry ${JSON.stringify(k)} is a ${typeName(t)}`
        : `key ${String(k)} is a ${typeName(k)}, not a str`;
    throw new PoisonlabError(
      `${what}: ${why} (expected a state_dict: a dict of str to tensors, or one under '${WRAPPER_KEYS.join("', '")}')`,
    );
  }
  throw new PoisonlabError(
    `${what}: the pickle holds a ${typeName(value)} (expected a state_dict: a dict of str to tensors)`,
  );
}

/** Read every tensor out of its storage, honouring storage offsets and strides. */
function materialise(
  refs: Map<string, TensorRef>,
  storage: (ref: StorageRef) => Uint8Array,
  what: string,
): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of refs) {
    const size = DTYPE_SIZE[t.storage.dtype];
    const count = numel(t.size);
    const bytes = new Uint8Array(count * size);
    if (count > 0) {
      const last = t.offset + t.size.reduce((acc, s, i) => acc + (s - 1) * t.stride[i]!, 0);
      check(
        last < t.storage.numel,
        `${what}: tensor '${name}' of shape [${t.size}] (offset ${t.offset}, strides [${t.stride}]) reaches ` +
          `element ${last} of a storage of ${t.storage.numel} (expected it inside its storage)`,
      );
      const src = storage(t.storage);
      const base = t.storage.offset + t.offset;
      copyStrided(src, bytes, base, t.size, t.stride, size);
    }
    out.set(name, { dtype: t.storage.dtype, shape: [...t.size], bytes });
  }
  return out;
}

/** Copy a strided view (element offset `base`, `size`, `stride`) of `src` into `dst` in row-major order. */
function copyStrided(
  src: Uint8Array,
  dst: Uint8Array,
  base: number,
  size: readonly number[],
  stride: readonly number[],
  elem: number,
): void {
  const rank = size.length;
  // contiguous (row-major strides): one copy
  let expected = 1;
  let contiguous = true;
  for (let d = rank - 1; d >= 0; d--) {
    if (size[d]! > 1 && stride[d] !== expected) contiguous = false;
    expected *= size[d]!;
  }
  if (contiguous) {
    dst.set(src.subarray(base * elem, (base + expected) * elem));
    return;
  }
  const index = new Array<number>(rank).fill(0);
  let at = base;
  const count = dst.length / elem;
  for (let i = 0; i < count; i++) {
    dst.set(src.subarray(at * elem, (at + 1) * elem), i * elem);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      at += stride[d]!;
      if (index[d]! < size[d]!) break;
      at -= index[d]! * stride[d]!;
      index[d] = 0;
    }
  }
}

/** A copy of `data` with every `size`-byte element's bytes reversed (big- to little-endian). */
function swapBytes(data: Uint8Array, size: number): Uint8Array {
  if (size === 1) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i + size <= data.length; i += size)
    for (let j = 0; j < size; j++) out[i + j] = data[i + size - 1 - j]!;
  return out;
}
