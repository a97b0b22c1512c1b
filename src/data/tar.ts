import { check } from '../util/errors.js';

/** One member of a tar archive. */
export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading './'. */
  path: string;
  type: 'file' | 'directory' | 'other';
  /** File contents (empty for directories and other members). */
  data: Uint8Array;
}

const BLOCK = 512;

function text(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8');
}

function octal(bytes: Uint8Array, start: number, length: number, what: string): number {
  const s = text(bytes, start, length).trim();
  check(/^[0-7]*$/.test(s), `${what}: malformed tar header (size field '${s}' is not octal)`);
  return s === '' ? 0 : Number.parseInt(s, 8);
}

/** Values of a pax extended header ("<len> <key>=<value>\n" records). */
function paxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const s = Buffer.from(data).toString('utf8');
  let at = 0;
  while (at < s.length) {
    const space = s.indexOf(' ', at);
    if (space < 0) break;
    const len = Number(s.slice(at, space));
    if (!Number.isInteger(len) || len <= 0) break;
    const record = s.slice(space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/**
 * Read an (uncompressed) POSIX/ustar tar archive, including GNU long names and pax `path`
 * records. `what` names the archive in errors. Entries are views into `tar`, not copies.
 */
export function readTar(tar: Uint8Array, what: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= tar.length) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return entries; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    check(
      sum === octal(header, 148, 8, what),
      `${what}: corrupt tar header at byte ${at} (checksum mismatch)`,
    );
    const size = octal(header, 124, 12, what);
    const flag = String.fromCharCode(header[156]!);
    const dataStart = at + BLOCK;
    check(
      dataStart + size <= tar.length,
      `${what}: truncated tar archive (member at byte ${at} needs ${size} bytes)`,
    );
    const data = tar.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (flag === 'x') {
      longName = paxRecords(data).get('path') ?? longName;
      continue;
    }
    if (flag === 'g') continue;
    const prefix = text(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    const path = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    const type =
      flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : 'other';
    if (path.length > 0) entries.push({ path, type, data: type === 'file' ? data : new Uint8Array(0) });
  }
  check(false, `${what}: truncated tar archive (no end-of-archive marker)`);
}

/** True when a member path could escape the extraction folder (absolute or with '..'). */
export function isUnsafeTarPath(path: string): boolean {
  return path.startsWith('/') || path.split('/').some((part) => part === '..');
}
