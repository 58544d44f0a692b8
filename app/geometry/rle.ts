/**
 * COCO run-length encoding, exactly as cocoapi's common/maskApi.c defines it, so that our compressed strings are
 * byte for byte those of pycocotools.
 *
 * - Pixels are read column-major (down the first column, then the next), and the runs alternate 0s and 1s,
 *   starting with the run of 0s (which is 0 long when the first pixel is set).
 * - The compact string form writes each count as 5-bit groups, least significant first, in characters 48 ('0')
 *   to 111 ('o'): bit 0x20 says another group follows, bit 0x10 of the last group is the sign. From the fourth
 *   count on, the count is written as the difference to the count two places before (the previous run of the same
 *   value), which keeps the numbers small.
 *
 * Area, bounding box, IoU and merge work on the runs without expanding to pixels, as cocoapi does.
 */
import type { Bbox, Rle } from '../model/types.js';

export type { Bbox, Rle };

/** A binary mask in row-major order, one byte per pixel, 0 or 1 (any non-zero byte counts as 1). */
export interface BitMask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Tight box of the set pixels as [x, y, w, h], or null for an empty mask. */
export function maskBounds(mask: BitMask): Bbox | null {
  let x0 = mask.width;
  let y0 = mask.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    const row = y * mask.width;
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[row + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** Malformed RLE input: bad characters, negative runs, counts that do not fill the image, mismatched sizes. */
export class RleError extends Error {
  override name = 'RleError';
}

const CHAR_OFFSET = 48;
const MAX_CHAR = CHAR_OFFSET + 63;

/** Counts -> cocoapi's compact string (rleToString). */
export function compressCounts(counts: readonly number[]): string {
  let out = '';
  for (let i = 0; i < counts.length; i++) {
    // Arithmetic rather than bit operators, so counts beyond 2^31 survive.
    let x = counts[i]! - (i > 2 ? counts[i - 2]! : 0);
    let more = true;
    while (more) {
      let c = ((x % 32) + 32) % 32;
      x = Math.floor(x / 32);
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + CHAR_OFFSET);
    }
  }
  return out;
}

/** cocoapi's compact string -> counts (rleFrString). Throws RleError on characters outside '0'..'o', a string that
 *  stops in the middle of a number, or a run that decodes to a negative length. */
export function decompressCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let scale = 1;
    let more = true;
    while (more) {
      if (p >= s.length) throw new RleError('RLE string ends in the middle of a count');
      const code = s.charCodeAt(p);
      if (code < CHAR_OFFSET || code > MAX_CHAR) {
        throw new RleError(`RLE string has an invalid character ${JSON.stringify(s[p])} at position ${p}`);
      }
      const c = code - CHAR_OFFSET;
      x += (c & 0x1f) * scale;
      scale *= 32;
      more = (c & 0x20) !== 0;
      p++;
      if (!more && c & 0x10) x -= scale;
    }
    const m = counts.length;
    if (m > 2) x += counts[m - 2]!;
    if (x < 0) throw new RleError(`RLE run ${m} has negative length ${x}`);
    counts.push(x);
  }
  return counts;
}

function checkSize(size: readonly number[]): [height: number, width: number] {
  const [h, w] = size;
  if (size.length !== 2 || !isCount(h) || !isCount(w)) {
    throw new RleError(`RLE size must be [height, width] of non-negative integers, got ${JSON.stringify(size)}`);
  }
  return [h, w];
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Throws RleError unless counts are non-negative integers that add up to height x width. */
export function checkCounts(counts: readonly number[], height: number, width: number): void {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!isCount(c)) throw new RleError(`RLE run ${i} must be a non-negative integer, got ${c}`);
    sum += c;
  }
  if (sum !== height * width) {
    throw new RleError(`RLE counts sum to ${sum}, expected ${height * width} (height ${height} x width ${width})`);
  }
}

/** Plain (uncompressed) COCO RLE -> compact Rle. size is [height, width], as COCO writes it. */
export function fromCounts(size: readonly number[], counts: readonly number[]): Rle {
  const [h, w] = checkSize(size);
  checkCounts(counts, h, w);
  return { size: [h, w], counts: compressCounts(counts) };
}

/** The runs of an Rle, checked to be well formed and to fill its size exactly. */
export function toCounts(rle: Rle): number[] {
  const [h, w] = checkSize(rle.size);
  if (typeof rle.counts !== 'string') throw new RleError('RLE counts must be a compressed string');
  const counts = decompressCounts(rle.counts);
  checkCounts(counts, h, w);
  return counts;
}

function countsOfMask(mask: BitMask): number[] {
  const { width: w, height: h, data } = mask;
  if (!isCount(w) || !isCount(h) || data.length !== w * h) {
    throw new RleError(`mask data has ${data.length} bytes, expected ${w * h} (height ${h} x width ${w})`);
  }
  const counts: number[] = [];
  let previous = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let i = x; i < data.length; i += w) {
      const v = data[i] ? 1 : 0;
      if (v !== previous) {
        counts.push(run);
        run = 0;
        previous = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/** Row-major bit mask -> COCO RLE (rleEncode + rleToString). */
export function encode(mask: BitMask): Rle {
  return { size: [mask.height, mask.width], counts: compressCounts(countsOfMask(mask)) };
}

/** COCO RLE -> row-major bit mask (rleDecode, transposed). */
export function decode(rle: Rle): BitMask {
  const counts = toCounts(rle);
  const [h, w] = rle.size;
  const data = new Uint8Array(w * h);
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const end = pos + counts[j]!;
    if (j % 2 === 1) {
      for (let k = pos; k < end; k++) data[(k % h) * w + Math.floor(k / h)] = 1;
    }
    pos = end;
  }
  return { width: w, height: h, data };
}

/** Number of set pixels (rleArea). */
export function area(rle: Rle): number {
  return countsArea(toCounts(rle));
}

function countsArea(counts: readonly number[]): number {
  let sum = 0;
  for (let j = 1; j < counts.length; j += 2) sum += counts[j]!;
  return sum;
}

/**
 * Tight [x, y, w, h] box of the set pixels, as pycocotools' toBbox returns it (a pixel at column x spans x to
 * x + 1, so a single pixel has w = h = 1); [0, 0, 0, 0] for an empty mask. Runs of 1s that are 0 long (never
 * written by an encoder) are skipped, where cocoapi would read them as a pixel.
 */
export function toBbox(rle: Rle): Bbox {
  const counts = toCounts(rle);
  const [h, w] = rle.size;
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let start = 0;
  let empty = true;
  for (let j = 1; j < counts.length; j += 2) {
    start += counts[j - 1]!;
    const length = counts[j]!;
    if (length === 0) continue;
    empty = false;
    const last = start + length - 1;
    const x0 = Math.floor(start / h);
    const x1 = Math.floor(last / h);
    const y0 = start % h;
    const y1 = last % h;
    if (x1 > x0) {
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x0);
    xe = Math.max(xe, x1);
    ys = Math.min(ys, y0, y1);
    ye = Math.max(ye, y0, y1);
    start += length;
  }
  if (empty) return [0, 0, 0, 0];
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

function sameSize(a: Rle, b: Rle, what: string): void {
  if (a.size[0] !== b.size[0] || a.size[1] !== b.size[1]) {
    throw new RleError(
      `${what} needs masks of the same size, got ${a.size[0]}x${a.size[1]} and ${b.size[0]}x${b.size[1]} (height x width)`,
    );
  }
}

/**
 * Walks two run lists of the same total side by side, calling visit(length, inA, inB) for each stretch in which
 * neither mask changes value (stretches may be 0 long where a run is). This is the loop of cocoapi's rleIou and
 * rleMerge.
 */
function walkRuns(
  a: readonly number[],
  b: readonly number[],
  visit: (length: number, inA: boolean, inB: boolean) => void,
): void {
  let ca = a[0] ?? 0;
  let cb = b[0] ?? 0;
  let ia = 1;
  let ib = 1;
  let va = false;
  let vb = false;
  let remaining = 1;
  while (remaining > 0) {
    const c = Math.min(ca, cb);
    visit(c, va, vb);
    ca -= c;
    if (ca === 0 && ia < a.length) {
      ca = a[ia++]!;
      va = !va;
    }
    cb -= c;
    if (cb === 0 && ib < b.length) {
      cb = b[ib++]!;
      vb = !vb;
    }
    remaining = ca + cb;
  }
}

/**
 * Intersection over union of two masks of the same size (rleIou). With crowd, b is a crowd region and the
 * intersection is divided by a's area alone, as COCO scores a detection against a crowd region. Two masks that do
 * not overlap, including two empty masks, have IoU 0, as in pycocotools.
 */
export function iou(a: Rle, b: Rle, crowd = false): number {
  sameSize(a, b, 'iou');
  return iouOfCounts(toCounts(a), toCounts(b), crowd);
}

/** iou on run counts of masks of the same size, for callers that compare each mask many times. */
export function iouOfCounts(a: readonly number[], b: readonly number[], crowd = false): number {
  let intersection = 0;
  let union = 0;
  walkRuns(a, b, (c, inA, inB) => {
    if (inA || inB) union += c;
    if (inA && inB) intersection += c;
  });
  if (intersection === 0) return 0;
  return intersection / (crowd ? countsArea(a) : union);
}

/**
 * Union (or, with intersect, intersection) of masks of the same size (rleMerge): the result's string is the one
 * pycocotools' merge writes. A single mask is returned unchanged.
 */
export function merge(rles: readonly Rle[], intersect = false): Rle {
  const first = rles[0];
  if (first === undefined) throw new RleError('merge needs at least one RLE');
  if (rles.length === 1) return first;
  let counts = toCounts(first);
  for (let i = 1; i < rles.length; i++) {
    const other = rles[i]!;
    sameSize(first, other, 'merge');
    counts = mergeCounts(counts, toCounts(other), intersect);
  }
  return { size: [first.size[0], first.size[1]], counts: compressCounts(counts) };
}

function mergeCounts(a: readonly number[], b: readonly number[], intersect: boolean): number[] {
  const out: number[] = [];
  let value = false;
  let run = 0;
  walkRuns(a, b, (c, inA, inB) => {
    const v = intersect ? inA && inB : inA || inB;
    if (v !== value) {
      out.push(run);
      run = 0;
      value = v;
    }
    run += c;
  });
  out.push(run);
  return out;
}
