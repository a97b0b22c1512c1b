/**
 * A zip reader that cannot be made to exhaust memory (the zip bomb: a few MB that inflate to GBs).
 *
 * Every entry's sizes come from the central directory (zip64 included). Before anything is inflated:
 * - a stored entry must declare as many bytes as it holds, a deflated one at most deflate's limit of 1032x
 *   its compressed bytes;
 * - the entries read must declare, together, at most a cap derived from the free memory (half of it, or of
 *   the cgroup's limit when lower);
 * - a caller that knows what an entry's first bytes imply (a `.npy` header's shape, a storage's element count)
 *   checks the declared size against that once those bytes are out.
 * Inflation then streams into a buffer of exactly the declared size and stops the moment the data would run
 * past it; data that ends short is refused too. So memory stays at what the file honestly declares.
 */
import { freemem } from 'node:os';
import { Inflate } from 'fflate';
import { PoisonlabError } from '../util/errors.js';

/** Deflate's best ratio: a 258-byte match in 2 bits (1 bit length code, 1 bit distance code), about 1032:1. */
const DEFLATE_MAX_RATIO = 1032;
/** Compressed bytes handed to the inflater at a time: at most ~1 MB of output per step. */
const STEP = 1024;

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  /** The inflated size the central directory declares. */
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

/** Bytes as a short human size, e.g. '3.1 GB'. */
export function humanBytes(n: number): string {
  if (n < 1e3) return `${n} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1e3;
  let u = 0;
  while (v >= 1e3 && u < units.length - 1) {
    v /= 1e3;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The most bytes a file's entries may declare together: half the free memory (or of the cgroup's memory limit,
 * when that is lower), since the arrays must fit beside everything else the process holds.
 */
export function inflateCap(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const free = constrained && constrained > 0 ? Math.min(freemem(), constrained) : freemem();
  return Math.floor(free / 2);
}

export interface ZipReadOptions {
  /** The cap on the declared bytes of the entries read (default: inflateCap()). */
  cap?: number;
}

export class ZipReader {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly view: DataView;
  private readonly cap: number;
  private readonly capWhy: string;
  private claimed = 0;

  /** Parse the central directory of `bytes`; `what` names the file in errors. */
  private readonly bytes: Uint8Array;

  constructor(
    bytes: Uint8Array,
    private readonly what: string,
    opts: ZipReadOptions = {},
  ) {
    // a plain Uint8Array view: a Buffer's slice() would not copy, and stored entries are views of the file
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.cap = opts.cap ?? inflateCap();
    this.capWhy = opts.cap === undefined ? 'half the memory free on this machine' : 'the cap given';
    this.entries = this.centralDirectory();
  }

  private fail(why: string): never {
    throw new PoisonlabError(`${this.what}: ${why}`);
  }

  private u16(at: number): number {
    if (at + 2 > this.bytes.length)
      this.fail('not a valid zip archive (truncated; expected a whole zip file)');
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    if (at + 4 > this.bytes.length)
      this.fail('not a valid zip archive (truncated; expected a whole zip file)');
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    const lo = this.u32(at);
    const hi = this.u32(at + 4);
    const v = hi * 2 ** 32 + lo;
    if (!Number.isSafeInteger(v)) this.fail('not a valid zip archive (a zip64 size beyond 2^53)');
    return v;
  }

  private centralDirectory(): Map<string, ZipEntry> {
    const b = this.bytes;
    // The end-of-central-directory record: 22 bytes plus a comment of up to 65535 bytes, at the end.
    let eocd = -1;
    for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
      if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 0x05 && b[i + 3] === 0x06) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0)
      this.fail('not a valid zip archive (no end-of-central-directory record; expected a whole zip file)');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // zip64: a locator right before the record points to the zip64 end-of-central-directory record
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== 0x07064b50)
        this.fail('not a valid zip archive (zip64 sizes without a zip64 locator)');
      const rec = this.u64(loc + 8);
      if (this.u32(rec) !== 0x06064b50) this.fail('not a valid zip archive (bad zip64 record)');
      count = this.u64(rec + 32);
      cdSize = this.u64(rec + 40);
      cdOffset = this.u64(rec + 48);
    }
    if (cdOffset + cdSize > b.length)
      this.fail(
        `not a valid zip archive (its central directory runs past the end; expected a file of at least ${cdOffset + cdSize} bytes, found ${b.length})`,
      );
    const out = new Map<string, ZipEntry>();
    let at = cdOffset;
    for (let n = 0; n < count; n++) {
      if (this.u32(at) !== 0x02014b50)
        this.fail(`not a valid zip archive (central directory entry ${n} has a bad signature)`);
      const flags = this.u16(at + 8);
      const method = this.u16(at + 10);
      let compressedSize = this.u32(at + 20);
      let size = this.u32(at + 24);
      const nameLen = this.u16(at + 28);
      const extraLen = this.u16(at + 30);
      const commentLen = this.u16(at + 32);
      let headerOffset = this.u32(at + 42);
      const nameBytes = b.subarray(at + 46, at + 46 + nameLen);
      const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(nameBytes);
      // zip64 extra field (id 1): the 8-byte values of the fields saturated at 0xffffffff, in this order
      let x = at + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = this.u16(x);
        const len = this.u16(x + 2);
        if (id === 1) {
          let p = x + 4;
          if (size === 0xffffffff) {
            size = this.u64(p);
            p += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = this.u64(p);
            p += 8;
          }
          if (headerOffset === 0xffffffff) headerOffset = this.u64(p);
        }
        x += 4 + len;
      }
      at = xEnd + commentLen;
      if (flags & 1) this.fail(`entry '${name}' is encrypted (expected a plain zip archive)`);
      if (method !== 0 && method !== 8)
        this.fail(`entry '${name}' uses compression method ${method} (expected 0, stored, or 8, deflate)`);
      if (method === 0 && size !== compressedSize)
        this.fail(
          `entry '${name}' is stored with ${compressedSize} bytes but declares ${size} (expected them equal)`,
        );
      if (method === 8 && size > compressedSize * DEFLATE_MAX_RATIO + 64)
        this.fail(
          `entry '${name}' declares ${humanBytes(size)} inflated from ${humanBytes(compressedSize)} ` +
            `(expected at most ${DEFLATE_MAX_RATIO}x, deflate's limit)`,
        );
      out.set(name, { name, method, compressedSize, size, headerOffset });
    }
    return out;
  }

  /** Where an entry's compressed bytes start and end (from its local header). */
  private dataRange(e: ZipEntry): [number, number] {
    if (this.u32(e.headerOffset) !== 0x04034b50)
      this.fail(`not a valid zip archive (entry '${e.name}' has no local header at ${e.headerOffset})`);
    const start = e.headerOffset + 30 + this.u16(e.headerOffset + 26) + this.u16(e.headerOffset + 28);
    const end = start + e.compressedSize;
    if (end > this.bytes.length)
      this.fail(
        `not a valid zip archive (entry '${e.name}' runs past the end of the file; expected ${end} bytes, found ${this.bytes.length})`,
      );
    return [start, end];
  }

  /**
   * Inflate one entry into a buffer of its declared size. `check`, when given, sees the bytes inflated so far
   * after each step until it returns true (it throws to refuse the entry, e.g. when a header's shape implies
   * another size). The declared bytes count against the cap before anything is inflated.
   */
  read(name: string, check?: (head: Uint8Array, entry: ZipEntry) => boolean): Uint8Array {
    const e = this.entries.get(name);
    if (!e) this.fail(`no entry '${name}' in the zip archive`);
    if (this.claimed + e.size > this.cap)
      this.fail(
        `entry '${name}' declares ${humanBytes(e.size)} inflated` +
          (this.claimed > 0 ? ` (${humanBytes(this.claimed + e.size)} with the entries before it)` : '') +
          `, expected at most ${humanBytes(this.cap)} (${this.capWhy})`,
      );
    this.claimed += e.size;
    const [start, end] = this.dataRange(e);
    if (e.method === 0) {
      const data = this.bytes.subarray(start, end);
      if (check) check(data, e);
      return data;
    }
    // Until `check` is satisfied the output is kept in chunks (a header's worth); then in one buffer of the
    // declared size, which the data must fill exactly.
    let head: Uint8Array[] | undefined = check ? [] : undefined;
    let out = head ? new Uint8Array(0) : new Uint8Array(e.size);
    let filled = 0;
    let finished = false;
    const inflater = new Inflate((chunk, final) => {
      if (filled + chunk.length > e.size) {
        // past the declared size: a header that says why (it implies another size) names it first
        if (head) check!(Buffer.concat([...head, chunk]), e);
        this.fail(
          `entry '${name}' inflates past its declared ${e.size} bytes (expected no more data than the zip declares)`,
        );
      }
      if (head) head.push(chunk.slice());
      else out.set(chunk, filled);
      filled += chunk.length;
      if (final) finished = true;
    });
    const settle = () => {
      if (!head) return;
      const joined = new Uint8Array(filled);
      let at = 0;
      for (const c of head) {
        joined.set(c, at);
        at += c.length;
      }
      head = head.length > 1 ? [joined] : head;
      if (!check!(joined, e) && !finished) return;
      out = new Uint8Array(e.size);
      out.set(joined);
      head = undefined;
    };
    try {
      for (let at = start; at < end && !finished; at += STEP) {
        const stop = Math.min(end, at + STEP);
        inflater.push(this.bytes.subarray(at, stop), stop === end);
        settle();
      }
    } catch (err) {
      if (err instanceof PoisonlabError) throw err;
      this.fail(
        `entry '${name}' is not valid deflate data (${(err as Error).message}; expected a valid zip archive)`,
      );
    }
    settle();
    if (filled !== e.size)
      this.fail(
        `entry '${name}' inflates to ${filled} bytes, expected the ${e.size} the zip declares (truncated or corrupt)`,
      );
    return out;
  }
}
