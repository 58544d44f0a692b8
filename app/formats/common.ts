/**
 * What the LabelMe, YOLO and Pascal VOC modules share: problems found in input, the objects read from a file
 * before they are annotations, masks as polygons for the polygon formats (with their holes counted, since those
 * formats cannot hold them), coordinates without float noise, and a seeded train/val split. Pure (no files).
 */
import { faithfulPolygons, hasHoles, maskToPolygons, polygonsToRle, type Polygon } from '../geometry/polygon.js';
import { iou, toBbox, toCounts, type BitMask } from '../geometry/rle.js';
import type { Bbox, Rle } from '../model/types.js';

/** One thing wrong with an input: where (a file, and a place in it) and why. */
export interface FormatProblem {
  readonly where: string;
  readonly reason: string;
}

/** Problems of a whole input, gathered so that all of them (not just the first) can be listed. */
export class Problems {
  readonly list: FormatProblem[] = [];
  add(where: string, reason: string): void {
    this.list.push({ where, reason });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

/** Thrown with every problem of an input; nothing was written. */
export class FormatError extends Error {
  override name = 'FormatError';
  constructor(readonly problems: readonly FormatProblem[]) {
    super(describeProblems(problems));
  }
}

/** How many problems a message names before it only counts the rest. */
export const PROBLEMS_LISTED = 20;

/** One line: `3 problems: a.json: shapes[2]: ...; b.json: ...`, the first PROBLEMS_LISTED named, the rest counted. */
export function describeProblems(problems: readonly FormatProblem[]): string {
  const named = problems.slice(0, PROBLEMS_LISTED).map((p) => (p.where ? `${p.where}: ${p.reason}` : p.reason));
  const rest = problems.length - named.length;
  const head = problems.length === 1 ? '' : `${problems.length} problems: `;
  return `${head}${named.join('; ')}${rest > 0 ? `; and ${rest} more` : ''}`;
}

/** A zod issue path as text: `shapes[3].points`. */
export function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text ? '.' : ''}${String(key)}`;
  return text || '(top level)';
}

/** An object read from a file, in image pixels of the displayed image, before it is an annotation. */
export interface ImportedInstance {
  readonly label: string;
  /** Null for a box without a mask. */
  readonly mask: Rle | null;
  readonly bbox: Bbox;
  /** A region over a group of objects, or one to ignore (COCO's iscrowd). */
  readonly crowd: boolean;
}

/** The box [x, y, w, h] of a polygon's points. */
export function polygonBox(polygon: readonly number[]): Bbox {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k + 1 < polygon.length; k += 2) {
    x0 = Math.min(x0, polygon[k]!);
    x1 = Math.max(x1, polygon[k]!);
    y0 = Math.min(y0, polygon[k + 1]!);
    y1 = Math.max(y1, polygon[k + 1]!);
  }
  return x0 > x1 ? [0, 0, 0, 0] : [x0, y0, x1 - x0, y1 - y0];
}

/** Rounds to 2 decimals (1/100 pixel), so files carry 233.75, not 233.75000000000006. */
export function round2(value: number): number {
  const rounded = Math.round(value * 100) / 100;
  return rounded === 0 ? 0 : rounded; // never -0
}

/** Rounds to `digits` decimals, e.g. YOLO's normalised coordinates to 6. */
export function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  const rounded = Math.round(value * scale) / scale;
  return rounded === 0 ? 0 : rounded;
}

export interface MaskOutlines {
  /** The outer outlines as polygons [x1, y1, ...] in image pixels, as `finish` made them. */
  readonly polygons: Polygon[];
  /** True when the mask has holes, which the polygons fill. */
  readonly hadHoles: boolean;
  /** Separate parts (outer outlines) of the mask. */
  readonly parts: number;
}

export interface OutlineOptions {
  /** Simplification in pixels to start from (see faithfulPolygons); default 1. */
  readonly tolerance?: number;
  /** The IoU with the mask that the written polygons keep at least (holes aside); default 0.95. */
  readonly minIou?: number;
  /** The polygons as they will be written (rounded; joined into one); default: coordinates to 2 decimals. */
  readonly finish?: (polygons: Polygon[]) => Polygon[];
}

const roundPolygons = (polygons: Polygon[]) => polygons.map((polygon) => polygon.map(round2));

/**
 * A mask as polygons for a format that has no holes (YOLO, LabelMe), and whether holes were filled. The polygons
 * are faithfulPolygons' outlines, checked as they will be written: rounding moves vertices, and COCO's rasteriser
 * places them to a fifth of a pixel, which can cost a small shape several percent. While the written polygons keep
 * less than `minIou` of the mask (holes filled), the tolerance is halved, down to the traced outline unsimplified
 * (every vertex on a half pixel, which rounding keeps: IoU 1 with the mask, holes filled).
 */
export function maskOutlines(mask: Rle, options: OutlineOptions = {}): MaskOutlines {
  const [height, width] = mask.size;
  const finish = options.finish ?? roundPolygons;
  const minIou = options.minIou ?? 0.95;
  const start = options.tolerance ?? 1;
  // Traced and simplified on the mask's box (with room for edges moved by the tolerance), not the whole image:
  // a 12-megapixel image costs what its objects do.
  const crop = cropMask(mask, Math.ceil(start) + 1);
  if (crop === null) return { polygons: [], hadHoles: false, parts: 0 };
  const place = (polygons: Polygon[]) => polygons.map((polygon) => polygon.map((v, i) => v + (i % 2 === 0 ? crop.x : crop.y)));
  const exact = place(maskToPolygons(crop.bits, 0));
  // The mask with its holes filled: what the polygons can reach at best.
  const reference = polygonsToRle(exact, height, width);
  const hadHoles = hasHoles(crop.bits);
  for (let tolerance = start; tolerance >= 0.25; tolerance /= 2) {
    const polygons = finish(place(faithfulPolygons(crop.bits, tolerance)));
    if (polygons.length > 0 && iou(polygonsToRle(polygons, height, width), reference) >= minIou) {
      return { polygons, hadHoles, parts: exact.length };
    }
  }
  return { polygons: finish(exact), hadHoles, parts: exact.length };
}

/**
 * The part of a mask around its set pixels, `margin` pixels wider on each side (within the image), as a bit mask
 * and where it lies; null for an empty mask. Read from the runs, so it costs the mask's pixels, not the image's.
 */
export function cropMask(mask: Rle, margin: number): { bits: BitMask; x: number; y: number } | null {
  const [x0, y0, w0, h0] = toBbox(mask);
  if (w0 === 0 || h0 === 0) return null;
  const [height, width] = mask.size;
  const x = Math.max(0, x0 - margin);
  const y = Math.max(0, y0 - margin);
  const w = Math.min(width, x0 + w0 + margin) - x;
  const h = Math.min(height, y0 + h0 + margin) - y;
  const data = new Uint8Array(w * h);
  const counts = toCounts(mask);
  let k = 0;
  for (let j = 0; j < counts.length; j++) {
    const end = k + counts[j]!;
    // Runs of set pixels are the odd ones; pixels go down each column (column-major), k = column * height + row.
    if (j % 2 === 1) for (let p = k; p < end; p++) data[((p % height) - y) * w + Math.floor(p / height) - x] = 1;
    k = end;
  }
  return { bits: { width: w, height: h, data }, x, y };
}


/**
 * A seeded, deterministic choice of `fraction` of the keys for validation: keys ordered by a hash of the seed and
 * the key, the first round(n * fraction) taken (at least one when the fraction is above 0 and there are two keys
 * or more, and never all of them). The same keys and seed always give the same split, and a key added later moves
 * few others.
 */
export function validationSplit(keys: readonly string[], fraction: number, seed: number): Set<string> {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`validation fraction must be between 0 and 1, got ${fraction}`);
  let count = Math.round(keys.length * fraction);
  if (fraction > 0 && keys.length >= 2) count = Math.min(Math.max(count, 1), keys.length - 1);
  const ranked = [...keys].sort((a, b) => hash(`${seed}\u0000${a}`) - hash(`${seed}\u0000${b}`) || (a < b ? -1 : a > b ? 1 : 0));
  return new Set(ranked.slice(0, count));
}

/** FNV-1a, 32 bits: a fixed, portable hash for the split (not for security). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Posix path helpers for the relative paths files hold (pure: no node:path here). */
export function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The path without its extension: `a/b.jpg` -> `a/b`. */
export function withoutExtension(path: string): string {
  const base = basenameOf(path);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? path : path.slice(0, path.length - (base.length - dot));
}

/**
 * `path` joined onto `folder` and normalised (`.` and `..` resolved, backslashes read as slashes); null when it
 * climbs above the root of the relative paths.
 */
export function joinRelative(folder: string, path: string): string | null {
  const parts: string[] = [];
  for (const part of `${folder}/${path.replace(/\\/g, '/')}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

/** The relative path from folder `from` to `to` (both relative to one root): `a/b`, `a/c.jpg` -> `../c.jpg`. */
export function relativePath(from: string, to: string): string {
  const a = from.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length - 1 && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => '..'), ...b.slice(common)].join('/');
}
