/**
 * Test helpers that write what `torch.save` writes, without PyTorch: a small pickle assembler, the
 * state_dict pickle of torch (protocol 2: OrderedDict, _rebuild_tensor_v2, ('storage', ...) persistent
 * ids), the zip archive of PyTorch >= 1.6 and the legacy stream of PyTorch < 1.6.
 */
import { zipSync } from 'fflate';
import type { DType, RawTensor } from '../../src/io/tensor.js';

/** A pickle opcode assembler (the subset torch.save uses, plus whatever a test wants to inject). */
export class Pickle {
  private readonly out: number[] = [];

  /** Raw bytes (opcodes and their arguments). */
  op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  proto(n = 2): this {
    return this.op(0x80, n);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...ascii(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a, ...u32(n >>> 0));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  setitem(): this {
    return this.op(0x73);
  }
  setitems(): this {
    return this.op(0x75);
  }
  appends(): this {
    return this.op(0x65);
  }
  reduce(): this {
    return this.op(0x52);
  }
  persid(): this {
    return this.op(0x51);
  }
  build(): this {
    return this.op(0x62);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }
  none(): this {
    return this.op(0x4e);
  }
  put(i: number): this {
    return this.op(0x71, i);
  }
  get(i: number): this {
    return this.op(0x68, i);
  }
  stop(): this {
    return this.op(0x2e);
  }
  /** A tuple of small ints, as MARK ints TUPLE. */
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

export function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export const STORAGE_NAMES: Record<DType, string> = {
  F32: 'FloatStorage',
  F64: 'DoubleStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
  I64: 'LongStorage',
  I32: 'IntStorage',
  I16: 'ShortStorage',
  I8: 'CharStorage',
  U8: 'ByteStorage',
  BOOL: 'BoolStorage',
};

/** One tensor of a state_dict pickle: a strided view of storage `key`. */
export interface PickledTensor {
  name: string;
  dtype: DType;
  key: string;
  /** Elements of the whole storage. */
  storageNumel: number;
  offset: number;
  size: number[];
  stride: number[];
  /** Wrap it as torch._utils._rebuild_parameter (an nn.Parameter). */
  parameter?: boolean;
  /** Legacy format only: view metadata (view key, offset, size) of the persistent id. */
  view?: [string, number, number];
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}

/**
 * The state_dict pickle torch.save writes (protocol 2): OrderedDict() filled by SETITEMS with
 * _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()), then
 * BUILD of its `_metadata` attribute. `legacy` writes the 6-item persistent id of the legacy format.
 */
export function stateDictPickle(
  tensors: readonly PickledTensor[],
  opts: { legacy?: boolean } = {},
): Uint8Array {
  const p = new Pickle().proto(2).global('collections', 'OrderedDict').put(0).emptyTuple().reduce().put(1);
  p.mark();
  for (const t of tensors) {
    p.str(t.name);
    if (t.parameter) p.global('torch._utils', '_rebuild_parameter').mark();
    p.global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', STORAGE_NAMES[t.dtype]).str(t.key).str('cpu').int(t.storageNumel);
    if (opts.legacy) {
      if (t.view) p.mark().str(t.view[0]).int(t.view[1]).int(t.view[2]).tuple();
      else p.none();
    }
    p.tuple().persid();
    p.int(t.offset).ints(t.size).ints(t.stride).bool(false).get(0).emptyTuple().reduce().tuple().reduce();
    if (t.parameter) p.bool(false).get(0).emptyTuple().reduce().tuple().reduce();
  }
  p.setitems();
  // state._metadata = OrderedDict([('', {'version': 1})])
  p.emptyDict()
    .str('_metadata')
    .get(0)
    .emptyTuple()
    .reduce()
    .mark()
    .str('')
    .emptyDict()
    .str('version')
    .int(1);
  p.setitem().setitems().setitem().build().stop();
  return p.bytes();
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** The zip archive of torch.save (PyTorch >= 1.6): `<prefix>/data.pkl`, `<prefix>/data/<key>`, `<prefix>/version`. */
export function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array>,
  opts: {
    prefix?: string;
    version?: string | null;
    byteorder?: string;
    extra?: Record<string, Uint8Array>;
  } = {},
): Uint8Array {
  const prefix = opts.prefix ?? 'archive';
  const files: Record<string, [Uint8Array, { level: 0 }]> = {};
  files[`${prefix}/data.pkl`] = [pkl, { level: 0 }];
  if (opts.byteorder !== undefined)
    files[`${prefix}/byteorder`] = [new TextEncoder().encode(opts.byteorder), { level: 0 }];
  for (const [key, bytes] of Object.entries(storages)) files[`${prefix}/data/${key}`] = [bytes, { level: 0 }];
  if (opts.version !== null)
    files[`${prefix}/version`] = [new TextEncoder().encode(`${opts.version ?? '3'}\n`), { level: 0 }];
  for (const [name, bytes] of Object.entries(opts.extra ?? {})) files[name] = [bytes, { level: 0 }];
  return zipSync(files);
}

/** The legacy pickle header: magic number, protocol version 1001, system info. */
export function legacyHeader(
  opts: { magic?: number[]; protocol?: number; littleEndian?: boolean } = {},
): Uint8Array {
  // 0x1950a86a20f9469cfc6c as LONG1 (10 little-endian bytes)
  const magic = opts.magic ?? [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  const a = new Pickle()
    .proto(2)
    .op(0x8a, magic.length, ...magic)
    .stop();
  const b = new Pickle()
    .proto(2)
    .int(opts.protocol ?? 1001)
    .stop();
  const c = new Pickle()
    .proto(2)
    .emptyDict()
    .mark()
    .str('protocol_version')
    .int(1001)
    .str('little_endian')
    .bool(opts.littleEndian ?? true)
    .setitems()
    .stop();
  return concat([a.bytes(), b.bytes(), c.bytes()]);
}

/** The storage key list pickle of the legacy format. */
export function legacyKeys(keys: readonly string[]): Uint8Array {
  const p = new Pickle().proto(2).emptyList().mark();
  for (const k of keys) p.str(k);
  return p.appends().stop().bytes();
}

/** One legacy storage record: int64 element count, then the bytes. */
export function legacyStorage(count: number, bytes: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigInt64(0, BigInt(count), true);
  return concat([head, bytes]);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A state_dict (PyTorch names, layouts and dtypes) as the bytes of a zip-format .pth file. */
export function pthOf(tensors: Iterable<[string, RawTensor]>): Uint8Array {
  const pickled: PickledTensor[] = [];
  const storages: Record<string, Uint8Array> = {};
  let i = 0;
  for (const [name, t] of tensors) {
    const key = String(i++);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    pickled.push({
      name,
      dtype: t.dtype,
      key,
      storageNumel: numel,
      offset: 0,
      size: t.shape,
      stride: contiguousStrides(t.shape),
    });
    storages[key] = t.bytes;
  }
  return torchZip(stateDictPickle(pickled), storages);
}
