/**
 * How far a JPEG copy of a dataset is from lossless pixels, in the units of the attacks' budgets: the l2 norm per
 * image of the pixel error, raw [0, 1] pixels over all H x W x C values (3,072 for CIFAR-10), as regime B's B.
 * Without the official binaries at hand, the copy is compared with a JPEG round trip of itself at the same
 * quality (decode, encode, decode): the error one more pass adds, the size of the error the first pass made.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** Summary of the per-image l2 errors (pixels in [0, 1]). */
export interface JpegErrorStats {
  images: number;
  /** The JPEG quality the round trip used (the files' own, estimated from their quantisation table). */
  quality: number;
  mean: number;
  median: number;
  p95: number;
  max: number;
  /** Mean absolute error per pixel value, in [0, 1] units (x 255 for 8-bit levels). */
  meanAbs: number;
}

/** The two round trips: aligned (the brief's) and offset by half a block (a fresh compression's error). */
export interface JpegRoundTrips {
  /**
   * Decode, encode at the same quality, decode: near zero, since JPEG at one quality is nearly idempotent on its
   * own output (the 8x8 blocks land where they were); a lower bound only.
   */
  aligned: JpegErrorStats;
  /**
   * The same with the image moved by 4 pixels inside an edge-replicated 40 x 40 canvas, so that every 8x8 block
   * is new: what one JPEG pass at this quality does to an image of this content, the size of the copy's own error
   * against lossless pixels (an estimate: the official binaries are not at hand).
   */
  offset: JpegErrorStats;
}

/** libjpeg's standard luminance quantisation table (natural order), which quality q scales. */
const STD_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
  29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
  121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/** libjpeg's table at quality q (jcparam.c: scale 5000 / q below 50, 200 - 2q from 50). */
function lumaTable(q: number): number[] {
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return STD_LUMA.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

/** The first quantisation table of a baseline JPEG (DQT marker), in zigzag order as stored; undefined if none. */
function firstQuantTable(bytes: Uint8Array): number[] | undefined {
  for (let i = 2; i + 4 < bytes.length; ) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker === 0xdb && bytes[i + 4]! >> 4 === 0) return [...bytes.subarray(i + 5, i + 5 + 64)];
    i += 2 + len;
  }
  return undefined;
}

/** The libjpeg quality whose luminance table is nearest the file's (the tables are the same up to order). */
export function estimateJpegQuality(bytes: Uint8Array): number | undefined {
  const table = firstQuantTable(bytes);
  if (!table) return undefined;
  const sorted = [...table].sort((a, b) => a - b);
  let best = 0;
  let bestErr = Number.POSITIVE_INFINITY;
  for (let q = 1; q <= 100; q++) {
    const t = lumaTable(q).sort((a, b) => a - b);
    const err = t.reduce((s, v, i) => s + Math.abs(v - sorted[i]!), 0);
    if (err < bestErr) {
      bestErr = err;
      best = q;
    }
  }
  return best;
}

/** JPEG files of an image-folder split, `perClass` from each class folder (in name order). */
function sampleFiles(splitDir: string, perClass: number): string[] {
  const classes = readdirSync(splitDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return classes.flatMap((c) =>
    readdirSync(join(splitDir, c))
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort()
      .slice(0, perClass)
      .map((f) => join(splitDir, c, f)),
  );
}

function summarise(norms: number[], absSum: number, values: number, quality: number): JpegErrorStats {
  norms.sort((a, b) => a - b);
  const at = (p: number) => norms[Math.min(norms.length - 1, Math.floor(p * norms.length))]!;
  return {
    images: norms.length,
    quality,
    mean: norms.reduce((a, b) => a + b, 0) / norms.length,
    median: at(0.5),
    p95: at(0.95),
    max: norms[norms.length - 1]!,
    meanAbs: absSum / values,
  };
}

/**
 * The round-trip errors of `perClass` JPEGs per class of `splitDir` (e.g. ../shared/data/cifar10-jpeg/train): each
 * image decoded, re-encoded at its own estimated quality (libjpeg tables, 4:2:0), decoded, aligned and offset by
 * half a block (JpegRoundTrips). Undefined when the folder holds no JPEGs.
 */
export async function jpegRoundTripError(
  splitDir: string,
  perClass = 50,
): Promise<JpegRoundTrips | undefined> {
  const files = sampleFiles(splitDir, perClass);
  if (files.length === 0) return undefined;
  const quality = estimateJpegQuality(readFileSync(files[0]!)) ?? 75;
  const acc = { aligned: { norms: [] as number[], abs: 0 }, offset: { norms: [] as number[], abs: 0 } };
  let values = 0;
  const PAD = 4;
  for (const file of files) {
    const first = await sharp(file)
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = first.info;
    const raw = { raw: { width, height, channels } };
    const jpeg = { quality, chromaSubsampling: '4:2:0' };
    const aligned = await sharp(await sharp(first.data, raw).jpeg(jpeg).toBuffer())
      .raw()
      .toBuffer();
    const padded = await sharp(first.data, raw)
      .extend({ top: PAD, left: PAD, bottom: PAD, right: PAD, extendWith: 'copy' })
      .jpeg(jpeg)
      .toBuffer();
    const offset = await sharp(padded).extract({ left: PAD, top: PAD, width, height }).raw().toBuffer();
    for (const [key, second] of [
      ['aligned', aligned],
      ['offset', offset],
    ] as const) {
      let s = 0;
      for (let i = 0; i < first.data.length; i++) {
        const e = (first.data[i]! - second[i]!) / 255;
        s += e * e;
        acc[key].abs += Math.abs(e);
      }
      acc[key].norms.push(Math.sqrt(s));
    }
    values += first.data.length;
  }
  return {
    aligned: summarise(acc.aligned.norms, acc.aligned.abs, values, quality),
    offset: summarise(acc.offset.norms, acc.offset.abs, values, quality),
  };
}
