/**
 * YOLO as Ultralytics reads it: `data.yaml` (class `names`, `train` / `val` / `test` image folders or lists, an
 * optional root `path`) and one text file per image, found by replacing the last `/images/` of the image's path with
 * `/labels/` and its extension with `.txt`. Each line is one object: `class cx cy w h` (detection, the box's centre
 * and size) or `class x1 y1 x2 y2 ...` (segmentation, one polygon of 3 points or more), all divided by the image's
 * width or height. Pure (no files).
 *
 * Limits, on import: a polygon becomes a mask rasterised as COCO polygons are; crowd regions do not exist.
 * On export: coordinates are rounded to 6 decimals (1/10^6 of the image side); a mask is written as one polygon, its
 * outlines (faithfulPolygons, 1 pixel) joined by zero-width bridges when it has several parts (as Ultralytics'
 * own converter does), holes filled; a box without a mask is written as its 4 corners in a segmentation dataset;
 * crowd regions are left out. All of these are counted in the result.
 */
import { parse as parseYaml } from 'yaml';
import { clampBbox } from '../geometry/bbox.js';
import { polygonsToRle, type Polygon } from '../geometry/polygon.js';
import { area, toBbox } from '../geometry/rle.js';
import type { Annotation, CategoryId } from '../model/types.js';
import { maskOutlines, polygonBox, roundTo, withoutExtension, type ImportedInstance, type Problems } from './common.js';

export const YOLO_SPLITS = ['train', 'val', 'test'] as const;
export type YoloSplit = (typeof YOLO_SPLITS)[number];

export interface YoloDataYaml {
  /** Class names by index; a missing index is a gap in `names`. */
  readonly names: ReadonlyMap<number, string>;
  /** The dataset root as written (`path`), or null: then it is the YAML file's folder. */
  readonly path: string | null;
  /** Each split's entries as written: image folders, text files listing images, or image files. */
  readonly splits: ReadonlyMap<YoloSplit, readonly string[]>;
}

/** Reads a data.yaml text; problems are added with `where` and null returned. */
export function readDataYaml(text: string, where: string, problems: Problems): YoloDataYaml | null {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    problems.add(where, `malformed YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return null;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.add(where, 'expected a mapping with names and train/val paths');
    return null;
  }
  const data = doc as Record<string, unknown>;
  const before = problems.list.length;
  if ('kpt_shape' in data) problems.add(`${where}: kpt_shape`, 'is a pose (keypoint) dataset, which Loupe does not read');

  const names = new Map<number, string>();
  const rawNames = data.names;
  if (Array.isArray(rawNames)) {
    rawNames.forEach((name, i) => {
      if (typeof name === 'string' && name !== '') names.set(i, name);
      else problems.add(`${where}: names[${i}]`, `expected a class name, got ${JSON.stringify(name)}`);
    });
  } else if (typeof rawNames === 'object' && rawNames !== null) {
    for (const [key, name] of Object.entries(rawNames)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0) problems.add(`${where}: names`, `key ${JSON.stringify(key)} is not a class index`);
      else if (typeof name !== 'string' || name === '') problems.add(`${where}: names.${key}`, `expected a class name, got ${JSON.stringify(name)}`);
      else names.set(index, name);
    }
  } else {
    problems.add(`${where}: names`, 'is missing: a list of class names, or a mapping from class index to name');
  }
  const seen = new Map<string, number>();
  for (const [index, name] of names) {
    const other = seen.get(name);
    if (other !== undefined) problems.add(`${where}: names`, `${JSON.stringify(name)} is class ${other} and class ${index}`);
    seen.set(name, index);
  }
  if (typeof data.nc === 'number' && data.nc !== names.size) {
    problems.add(`${where}: nc`, `is ${data.nc} but names has ${names.size} classes`);
  }

  const splits = new Map<YoloSplit, string[]>();
  for (const split of YOLO_SPLITS) {
    const value = data[split];
    if (value === undefined || value === null) continue;
    const entries = Array.isArray(value) ? value : [value];
    if (!entries.every((e): e is string => typeof e === 'string' && e !== '')) {
      problems.add(`${where}: ${split}`, 'expected a path, or a list of paths');
      continue;
    }
    splits.set(split, entries);
  }
  if (splits.size === 0) problems.add(where, 'names no images: none of train, val or test is given');
  const path = typeof data.path === 'string' && data.path !== '' ? data.path : null;
  return problems.list.length > before ? null : { names, path, splits };
}

/** Where Ultralytics looks for an image's labels: the last `/images/` becomes `/labels/`, the extension `.txt`. */
export function labelPathOf(imagePath: string): string {
  const at = imagePath.lastIndexOf('/images/');
  const swapped = at < 0 ? imagePath : `${imagePath.slice(0, at)}/labels/${imagePath.slice(at + '/images/'.length)}`;
  return `${withoutExtension(swapped)}.txt`;
}

/** The objects of one label file on an image of width x height; malformed lines are added as problems. */
export function readYoloLabels(
  text: string,
  names: ReadonlyMap<number, string>,
  width: number,
  height: number,
  where: string,
  problems: Problems,
): ImportedInstance[] {
  const instances: ImportedInstance[] = [];
  // Ultralytics reads label files with or without a byte-order mark.
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, n) => {
    const at = `${where}: line ${n + 1}`;
    const tokens = line.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) return;
    const values = tokens.map(Number);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      problems.add(at, `${JSON.stringify(tokens[bad])} is not a number`);
      return;
    }
    const [cls, ...coords] = values as [number, ...number[]];
    const label = Number.isInteger(cls) ? names.get(cls) : undefined;
    if (label === undefined) {
      problems.add(at, `class ${tokens[0]} is not in data.yaml's names (${names.size} classes)`);
      return;
    }
    if (coords.length !== 4 && (coords.length < 6 || coords.length % 2 !== 0)) {
      problems.add(at, `expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got ${tokens.length} values`);
      return;
    }
    // Ultralytics refuses coordinates outside 0..1; a rounding hair beyond is let through.
    const outside = coords.findIndex((v) => v < -1e-6 || v > 1 + 1e-6);
    if (outside >= 0) {
      problems.add(at, `coordinate ${coords[outside]} is not normalised to 0..1`);
      return;
    }
    if (coords.length === 4) {
      const [cx, cy, w, h] = coords as [number, number, number, number];
      const bbox = clampBbox([(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height], width, height);
      if (bbox[2] <= 0 || bbox[3] <= 0) {
        problems.add(at, 'box has no area');
        return;
      }
      instances.push({ label, mask: null, bbox, crowd: false });
      return;
    }
    const polygon = coords.map((v, i) => v * (i % 2 === 0 ? width : height));
    const mask = polygonsToRle([polygon], height, width);
    if (area(mask) > 0) {
      instances.push({ label, mask, bbox: toBbox(mask), crowd: false });
      return;
    }
    // Too thin to cover a pixel's sample point (a box a hundredth of a pixel wide): kept as its box.
    const bbox = clampBbox(polygonBox(polygon), width, height);
    if (bbox[2] <= 0 || bbox[3] <= 0) problems.add(at, 'polygon has no area');
    else instances.push({ label, mask: null, bbox, crowd: false });
  });
  return instances;
}

export type YoloTask = 'segment' | 'detect';

export interface YoloLabelsInput {
  readonly image: { readonly width: number; readonly height: number };
  /** The annotations to write (the caller has chosen them), in order. */
  readonly annotations: readonly Annotation[];
  readonly classIndex: ReadonlyMap<CategoryId, number>;
  readonly task: YoloTask;
  /** Polygon simplification in pixels (see faithfulPolygons); default 1. */
  readonly tolerance?: number;
}

export interface YoloLabels {
  /** The label file: one line per object, '\n' after each. */
  readonly text: string;
  readonly objects: number;
  /** Masks whose holes the polygon fills. */
  readonly withHoles: number;
  /** Masks of several parts, joined into one polygon. */
  readonly joined: number;
  /** Boxes without a mask written as 4-corner polygons (segment task). */
  readonly boxesAsPolygons: number;
  /** Crowd regions, which YOLO cannot hold. */
  readonly crowdLeftOut: number;
}

const toUnit = (v: number, side: number) => roundTo(Math.min(Math.max(v / side, 0), 1), 6);
const normalised = (v: number, side: number) => String(toUnit(v, side));
/** A pixel coordinate where the written, normalised one puts it. */
const quantise = (v: number, side: number) => toUnit(v, side) * side;

/** One image's annotations as a YOLO label file. */
export function buildYoloLabels(input: YoloLabelsInput): YoloLabels {
  const { width, height } = input.image;
  const lines: string[] = [];
  let withHoles = 0;
  let joined = 0;
  let boxesAsPolygons = 0;
  let crowdLeftOut = 0;
  for (const a of input.annotations) {
    const cls = input.classIndex.get(a.categoryId);
    if (cls === undefined) throw new Error(`annotation ${a.id}: its category ${a.categoryId} has no class index`);
    if (a.crowd) {
      crowdLeftOut++;
      continue;
    }
    // A mask's box is the mask's own, whatever box was stored beside it.
    const [x, y, w, h] = a.mask ? toBbox(a.mask) : a.bbox;
    if (input.task === 'detect') {
      lines.push([cls, normalised(x + w / 2, width), normalised(y + h / 2, height), normalised(w, width), normalised(h, height)].join(' '));
      continue;
    }
    let polygon: Polygon;
    if (a.mask === null) {
      boxesAsPolygons++;
      polygon = [x, y, x + w, y, x + w, y + h, x, y + h];
    } else {
      // Checked as written: one polygon, in normalised coordinates rounded to 6 decimals.
      const finish = (polygons: Polygon[]) => (polygons.length === 0 ? [] : [joinPolygons(polygons).map((v, i) => quantise(v, i % 2 === 0 ? width : height))]);
      const outlines = maskOutlines(a.mask, { tolerance: input.tolerance ?? 1, finish });
      if (outlines.polygons.length === 0) continue;
      if (outlines.hadHoles) withHoles++;
      if (outlines.parts > 1) joined++;
      polygon = outlines.polygons[0]!;
    }
    const coords = polygon.map((v, i) => normalised(v, i % 2 === 0 ? width : height));
    lines.push([cls, ...coords].join(' '));
  }
  return { text: lines.map((l) => `${l}\n`).join(''), objects: lines.length, withHoles, joined, boxesAsPolygons, crowdLeftOut };
}

/**
 * Several outlines as one polygon: each further outline is entered from the nearest vertex of the polygon built
 * so far and left the same way, so the two bridge edges lie on each other and enclose nothing: filled by the
 * even-odd rule (as COCO and OpenCV rasterise), the result covers the union of the outlines.
 */
export function joinPolygons(polygons: readonly Polygon[]): Polygon {
  const [first, ...rest] = polygons;
  if (first === undefined) return [];
  let points = toPoints(first);
  for (const polygon of rest) {
    const other = toPoints(polygon);
    let best = { d: Infinity, i: 0, j: 0 };
    points.forEach(([px, py], i) =>
      other.forEach(([qx, qy], j) => {
        const d = (px - qx) ** 2 + (py - qy) ** 2;
        if (d < best.d) best = { d, i, j };
      }),
    );
    const loop = [...other.slice(best.j), ...other.slice(0, best.j), other[best.j]!];
    points = [...points.slice(0, best.i + 1), ...loop, points[best.i]!, ...points.slice(best.i + 1)];
  }
  return points.flat();
}

function toPoints(polygon: Polygon): [number, number][] {
  const points: [number, number][] = [];
  for (let k = 0; k < polygon.length; k += 2) points.push([polygon[k]!, polygon[k + 1]!]);
  return points;
}

export interface DataYamlInput {
  /** Class names by index 0..n-1. */
  readonly names: readonly string[];
  /** Split folders relative to the YAML's folder, e.g. images/train. */
  readonly train: string;
  readonly val: string;
  /** A comment line saying where the dataset came from. */
  readonly comment?: string;
}

/**
 * data.yaml without `path`: Ultralytics then takes the YAML's own folder as the root (a relative `path` would be
 * read against its datasets folder instead).
 */
export function buildDataYaml(input: DataYamlInput): string {
  const quote = (s: string) => JSON.stringify(s);
  const lines = [
    ...(input.comment ? input.comment.split('\n').map((l) => `# ${l}`) : []),
    `train: ${quote(input.train)}`,
    `val: ${quote(input.val)}`,
    `nc: ${input.names.length}`,
    'names:',
    ...input.names.map((name, i) => `  ${i}: ${quote(name)}`),
  ];
  return `${lines.join('\n')}\n`;
}
