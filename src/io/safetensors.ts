/**
 * The safetensors format (https://github.com/huggingface/safetensors): an unsigned little-endian 64-bit
 * header length N, N bytes of UTF-8 JSON, then the tensors' bytes. The JSON maps each tensor name to
 * `{ "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }` (offsets into the data that follows
 * the header) and may hold `"__metadata__"`, an object of string to string. Data is little-endian,
 * row-major. Reading validates everything the format promises: a header inside the file, a JSON object,
 * known dtypes, integer shapes, offsets whose length is exactly the tensor's bytes, and buffers that
 * tile the data with no gap, overlap or trailing byte.
 */
import { writeFileAtomic } from '../util/atomic.js';
import { check, PoisonlabError } from '../util/errors.js';
import { readFileBytes } from './read-bytes.js';
import { DTYPE_SIZE, isDType, numel, type RawTensor } from './tensor.js';

/** The largest header the reference implementation accepts (100 MB). */
const MAX_HEADER = 100_000_000;

/** Tensors by name (in the header's order) and the optional string metadata. */
export interface Safetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** Read a .safetensors file. Every malformed header, offset or length is a one-line error naming the file. */
export function readSafetensors(path: string): Safetensors {
  return parseSafetensors(readFileBytes(path, 'a .safetensors file'), path);
}

/** Parse the bytes of a .safetensors file; `what` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, what: string): Safetensors {
  const fail = (why: string): never => {
    throw new PoisonlabError(`${what}: not a valid .safetensors file (${why})`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, expected at least the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n}, expected at most ${MAX_HEADER}`);
  if (n > BigInt(bytes.length - 8))
    fail(`header length ${n} runs past the end of the file (expected at most ${bytes.length - 8})`);
  const headerLength = Number(n);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('the header is not valid UTF-8, expected UTF-8 JSON');
  }
  if (!text.startsWith('{')) fail("the header does not start with '{' (expected a JSON object)");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message}), expected a JSON object`);
  }
  const data = bytes.subarray(8 + headerLength);
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, RawTensor>();
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info))
        fail('__metadata__ is not an object, expected an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ entry '${k}' is a ${typeof v}, expected a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = `tensor '${name}'`;
    if (typeof info !== 'object' || info === null || Array.isArray(info))
      fail(`${t} is not an object, expected one with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets, ...rest } = info as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) fail(`${t} has unknown field '${extra[0]}' (expected dtype, shape, data_offsets)`);
    if (!isDType(dtype))
      fail(`${t} has dtype ${JSON.stringify(dtype)}, expected one of ${Object.keys(DTYPE_SIZE).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      fail(`${t} has shape ${JSON.stringify(shape)}, expected a list of non-negative integers`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    )
      fail(`${t} has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] with 0 <= begin <= end`);
    const [begin, end] = offsets as [number, number];
    const dt = dtype as keyof typeof DTYPE_SIZE;
    const want = numel(shape as number[]) * DTYPE_SIZE[dt];
    if (end - begin !== want)
      fail(`${t} spans ${end - begin} bytes, expected ${want} for ${dt} of shape [${shape}]`);
    if (end > data.length)
      fail(`${t} ends at byte ${end}, expected at most the data section's ${data.length}`);
    spans.push({ name, begin, end });
    tensors.set(name, { dtype: dt, shape: [...(shape as number[])], bytes: data.slice(begin, end) });
  }
  // The buffers tile the data section exactly: no gap, no overlap, nothing after the last one.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of spans) {
    if (s.begin !== at)
      fail(
        s.begin < at
          ? `tensor '${s.name}' overlaps the tensor before it (begins at ${s.begin}, expected ${at})`
          : `a gap of ${s.begin - at} bytes before tensor '${s.name}' (expected it to begin at ${at})`,
      );
    at = s.end;
  }
  if (at !== data.length)
    fail(`${data.length - at} bytes after the last tensor (expected the data section to end at ${at})`);
  return { tensors, metadata };
}

/** Encode tensors (in the given order) and string metadata as a .safetensors file's bytes. */
export function encodeSafetensors(
  tensors: Iterable<[string, RawTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [name, t] of tensors) {
    check(name !== '__metadata__', "safetensors: a tensor named '__metadata__' (expected another name)");
    check(!Object.hasOwn(header, name), `safetensors: tensor '${name}' given twice (expected unique names)`);
    const want = numel(t.shape) * DTYPE_SIZE[t.dtype];
    check(
      t.bytes.length === want,
      `safetensors: tensor '${name}' has ${t.bytes.length} bytes, expected ${want} for ${t.dtype} [${t.shape}]`,
    );
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + want] };
    parts.push(t.bytes);
    at += want;
  }
  // The header is padded with spaces to a multiple of 8 bytes (as the reference writer does).
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Write a .safetensors file atomically. */
export function writeSafetensors(
  path: string,
  tensors: Iterable<[string, RawTensor]>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
