/**
 * LabelMe: one JSON file per image (`imagePath` relative to the JSON's folder), its objects as `shapes`. Pure
 * (no files): the reader takes parsed JSON, the writer returns it.
 *
 * Reading:
 * - polygon (also `oriented_rectangle`, and X-AnyLabeling's `rotation`) -> a mask, rasterised as COCO polygons are
 *   (LabelMe's points are COCO's continuous pixel coordinates, as its labelme2coco writes them);
 * - rectangle (2 corners, or 4) -> a box without a mask; circle (centre, a point on it) -> a mask of the circle
 *   traced with a vertex every pixel of arc; mask (a PNG over the box of its 2 points) -> that mask;
 * - point, points, line and linestrip shapes, and types LabelMe does not define, are skipped and counted by type;
 * - shapes with the same label and `group_id` are one instance (the union of their masks; a rectangle joined with
 *   masks counts as a filled rectangle);
 * - `__ignore__` shapes become crowd regions, of the class their description names as `crowd: <class>` (which
 *   export writes) or of the class `__ignore__`;
 * - `imageData` is ignored (the image file is the project's); image `flags`, shape `flags` and descriptions
 *   other than the crowd's are not kept.
 *
 * Writing: a mask as polygons (faithfulPolygons' outlines, 2 decimals), several outlines of one mask as
 * polygons sharing a `group_id`; holes are filled (counted in the result); a box without a mask as a rectangle;
 * a crowd region as `__ignore__` with description `crowd: <class>`.
 */
import { z } from 'zod';
import { clampBbox } from '../geometry/bbox.js';
import { polygonsToRle, type Polygon } from '../geometry/polygon.js';
import { area, encode, merge, toBbox } from '../geometry/rle.js';
import type { Annotation, Bbox, CategoryId, Rle } from '../model/types.js';
import { maskOutlines, pathText, polygonBox, round2, type ImportedInstance, type Problems } from './common.js';
import { decodePngMask, fromBase64 } from './png.js';

/** The LabelMe version whose file layout export writes (shapes with `description` and `mask`). */
export const LABELME_VERSION = '5.4.1';

/** The label LabelMe's own tools use for regions to leave out of training. */
export const IGNORE_LABEL = '__ignore__';
const CROWD_DESCRIPTION = /^crowd: (.+)$/;

export interface LabelmeShape {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
  readonly group_id: number | null;
  readonly shape_type: string;
  readonly description: string;
  readonly flags: Readonly<Record<string, boolean>>;
  /** Base64 PNG for `mask` shapes. */
  readonly mask: string | null;
}

export interface LabelmeFile {
  readonly version: string;
  readonly flags: Readonly<Record<string, boolean>>;
  readonly shapes: readonly LabelmeShape[];
  readonly imagePath: string;
  readonly imageData: string | null;
  readonly imageHeight: number | null;
  readonly imageWidth: number | null;
}

const shapeSchema = z.object({
  label: z.string(),
  points: z.array(z.tuple([z.number(), z.number()])),
  group_id: z.number().int().nullish(),
  // LabelMe 3 wrote no shape_type: a polygon.
  shape_type: z.string().nullish(),
  description: z.string().nullish(),
  flags: z.record(z.string(), z.unknown()).nullish(),
  mask: z.string().nullish(),
});

const fileSchema = z.object({
  version: z.string().nullish(),
  flags: z.record(z.string(), z.unknown()).nullish(),
  shapes: z.array(shapeSchema),
  imagePath: z.string().min(1),
  imageData: z.string().nullish(),
  imageHeight: z.number().int().positive().nullish(),
  imageWidth: z.number().int().positive().nullish(),
});

const booleans = (flags: Record<string, unknown> | null | undefined) =>
  Object.fromEntries(Object.entries(flags ?? {}).filter((e): e is [string, boolean] => typeof e[1] === 'boolean'));

/** Validates a parsed LabelMe JSON document; every problem is added (as `<where>: <field>`) and null returned. */
export function readLabelmeFile(json: unknown, where: string, problems: Problems): LabelmeFile | null {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.add(`${where}: ${pathText(issue.path)}`, issue.message);
    return null;
  }
  const data = parsed.data;
  return {
    version: data.version ?? '',
    flags: booleans(data.flags),
    shapes: data.shapes.map((s) => ({
      label: s.label,
      points: s.points,
      group_id: s.group_id ?? null,
      shape_type: s.shape_type ?? 'polygon',
      description: s.description ?? '',
      flags: booleans(s.flags),
      mask: s.mask ?? null,
    })),
    imagePath: data.imagePath.replace(/\\/g, '/'),
    imageData: data.imageData ?? null,
    imageHeight: data.imageHeight ?? null,
    imageWidth: data.imageWidth ?? null,
  };
}

/** Shape types that describe no area, skipped on import. */
export const SKIPPED_SHAPE_TYPES = ['point', 'points', 'line', 'linestrip'] as const;

export interface LabelmeInstances {
  readonly instances: ImportedInstance[];
  /** Shapes not imported, by shape_type (point, line, ... and types LabelMe does not define). */
  readonly skipped: Record<string, number>;
}

type Part = { kind: 'polygon'; polygon: Polygon } | { kind: 'box'; box: Bbox } | { kind: 'mask'; mask: Rle };

/**
 * The instances of one LabelMe file on an image of width x height (the displayed size). Problems (a polygon of
 * fewer than 3 points, a shape wholly outside the image, an unreadable mask) are added with `where` and the
 * shape's index; such shapes are left out.
 */
export function labelmeInstances(file: LabelmeFile, width: number, height: number, where: string, problems: Problems): LabelmeInstances {
  const skipped: Record<string, number> = {};
  const groups = new Map<string, { label: string; crowd: boolean; parts: Part[]; first: number }>();
  file.shapes.forEach((shape, i) => {
    const at = `${where}: shapes[${i}]`;
    const part = shapePart(shape, width, height, at, problems);
    if (part === 'skip') {
      skipped[shape.shape_type] = (skipped[shape.shape_type] ?? 0) + 1;
      return;
    }
    if (part === null) return;
    const crowd = shape.label === IGNORE_LABEL;
    const label = crowd ? (CROWD_DESCRIPTION.exec(shape.description)?.[1] ?? IGNORE_LABEL) : shape.label;
    const key = shape.group_id === null ? `#${i}` : `${shape.label}\u0000${shape.group_id}`;
    const group = groups.get(key) ?? { label, crowd, parts: [], first: i };
    group.parts.push(part);
    groups.set(key, group);
  });

  const instances: ImportedInstance[] = [];
  for (const { label, crowd, parts, first } of groups.values()) {
    if (parts.every((p) => p.kind === 'box')) {
      const boxes = parts.map((p) => (p as { box: Bbox }).box);
      const x0 = Math.min(...boxes.map((b) => b[0]));
      const y0 = Math.min(...boxes.map((b) => b[1]));
      const x1 = Math.max(...boxes.map((b) => b[0] + b[2]));
      const y1 = Math.max(...boxes.map((b) => b[1] + b[3]));
      instances.push({ label, crowd, mask: null, bbox: [x0, y0, x1 - x0, y1 - y0] });
      continue;
    }
    const polygons = parts.flatMap((p): Polygon[] => {
      if (p.kind === 'polygon') return [p.polygon];
      if (p.kind === 'box') {
        const [x, y, w, h] = p.box;
        return [[x, y, x + w, y, x + w, y + h, x, y + h]];
      }
      return [];
    });
    const masks = parts.flatMap((p) => (p.kind === 'mask' ? [p.mask] : []));
    if (polygons.length > 0) masks.unshift(polygonsToRle(polygons, height, width));
    const mask = merge(masks);
    if (area(mask) > 0) {
      instances.push({ label, crowd, mask, bbox: toBbox(mask) });
      continue;
    }
    // Too thin to cover a pixel's sample point: kept as its box, unless it lies outside the image.
    const bbox = clampBbox(polygonBox(polygons.flat()), width, height);
    if (bbox[2] > 0 && bbox[3] > 0) instances.push({ label, crowd, mask: null, bbox });
    else problems.add(`${where}: shapes[${first}]`, `covers no pixel of the ${width} x ${height} image`);
  }
  return { instances, skipped };
}

function shapePart(shape: LabelmeShape, width: number, height: number, at: string, problems: Problems): Part | 'skip' | null {
  const points = shape.points;
  switch (shape.shape_type) {
    case 'polygon':
    case 'oriented_rectangle':
    case 'rotation': {
      if (points.length < 3) {
        problems.add(at, `a ${shape.shape_type} needs at least 3 points, has ${points.length}`);
        return null;
      }
      return { kind: 'polygon', polygon: points.flat() };
    }
    case 'rectangle': {
      if (points.length !== 2 && points.length !== 4) {
        problems.add(at, `a rectangle needs 2 corners (or 4), has ${points.length} points`);
        return null;
      }
      const xs = points.map((p) => p[0]);
      const ys = points.map((p) => p[1]);
      const x0 = Math.min(...xs);
      const y0 = Math.min(...ys);
      const box = clampBbox([x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0], width, height);
      if (box[2] <= 0 || box[3] <= 0) {
        problems.add(at, `rectangle has no area inside the ${width} x ${height} image`);
        return null;
      }
      return { kind: 'box', box };
    }
    case 'circle': {
      if (points.length !== 2) {
        problems.add(at, `a circle needs 2 points (centre and one on the circle), has ${points.length}`);
        return null;
      }
      const [[cx, cy], [px, py]] = points as [[number, number], [number, number]];
      const r = Math.hypot(px - cx, py - cy);
      if (r === 0) {
        problems.add(at, 'circle has radius 0');
        return null;
      }
      const n = Math.max(12, Math.ceil(2 * Math.PI * r));
      const polygon: Polygon = [];
      for (let k = 0; k < n; k++) polygon.push(cx + r * Math.cos((2 * Math.PI * k) / n), cy + r * Math.sin((2 * Math.PI * k) / n));
      return { kind: 'polygon', polygon };
    }
    case 'mask': {
      if (points.length !== 2 || shape.mask === null) {
        problems.add(at, 'a mask shape needs 2 points (its box) and a base64 PNG `mask`');
        return null;
      }
      const mask = placeMask(shape, width, height, at, problems);
      return mask === null ? null : { kind: 'mask', mask };
    }
    default:
      return 'skip';
  }
}

/** LabelMe's mask shape: a PNG the size of the box from its first point to its second (whole pixels, inclusive). */
function placeMask(shape: LabelmeShape, width: number, height: number, at: string, problems: Problems): Rle | null {
  let crop;
  try {
    crop = decodePngMask(fromBase64(shape.mask!));
  } catch (error) {
    problems.add(`${at}.mask`, `is not a base64 PNG (${error instanceof Error ? error.message : String(error)})`);
    return null;
  }
  const [[x1, y1], [x2, y2]] = shape.points.map(([x, y]) => [Math.trunc(x), Math.trunc(y)]) as [[number, number], [number, number]];
  if (crop.width !== x2 - x1 + 1 || crop.height !== y2 - y1 + 1) {
    problems.add(`${at}.mask`, `is ${crop.width} x ${crop.height} but its points span ${x2 - x1 + 1} x ${y2 - y1 + 1} pixels`);
    return null;
  }
  const data = new Uint8Array(width * height);
  for (let y = 0; y < crop.height; y++) {
    const ty = y + y1;
    if (ty < 0 || ty >= height) continue;
    for (let x = 0; x < crop.width; x++) {
      const tx = x + x1;
      if (tx >= 0 && tx < width && crop.data[y * crop.width + x]) data[ty * width + tx] = 1;
    }
  }
  return encode({ width, height, data });
}

export interface LabelmeExportInput {
  readonly image: { readonly width: number; readonly height: number };
  /** The image's path relative to the folder the JSON file is written to. */
  readonly imagePath: string;
  /** The annotations to write (the caller has chosen them), in order. */
  readonly annotations: readonly Annotation[];
  readonly categoryNames: ReadonlyMap<CategoryId, string>;
  /** Polygon simplification in pixels (see faithfulPolygons); default 1. */
  readonly tolerance?: number;
}

export interface LabelmeExport {
  readonly file: LabelmeFile;
  /** Instances whose mask had holes, filled in the polygons. */
  readonly withHoles: number;
}

/** One image's annotations as a LabelMe file. */
export function buildLabelmeFile(input: LabelmeExportInput): LabelmeExport {
  const shapes: LabelmeShape[] = [];
  let withHoles = 0;
  let groups = 0;
  for (const a of input.annotations) {
    const name = input.categoryNames.get(a.categoryId);
    if (name === undefined) throw new Error(`annotation ${a.id}: its category ${a.categoryId} is not among those to export`);
    const label = a.crowd ? IGNORE_LABEL : name;
    const description = a.crowd ? `crowd: ${name}` : '';
    // Keys in the order LabelMe writes them.
    const shape = (points: [number, number][], group_id: number | null, shape_type: string): LabelmeShape => ({
      label,
      points,
      group_id,
      description,
      shape_type,
      flags: {},
      mask: null,
    });
    if (a.mask === null) {
      const [x, y, w, h] = a.bbox;
      shapes.push(shape([[round2(x), round2(y)], [round2(x + w), round2(y + h)]], null, 'rectangle'));
      continue;
    }
    const { polygons, hadHoles } = maskOutlines(a.mask, { tolerance: input.tolerance ?? 1 });
    if (hadHoles) withHoles++;
    const group_id = polygons.length > 1 ? ++groups : null;
    for (const polygon of polygons) {
      const points: [number, number][] = [];
      for (let k = 0; k < polygon.length; k += 2) points.push([polygon[k]!, polygon[k + 1]!]);
      shapes.push(shape(points, group_id, 'polygon'));
    }
  }
  return {
    file: {
      version: LABELME_VERSION,
      flags: {},
      shapes,
      imagePath: input.imagePath,
      imageData: null,
      imageHeight: input.image.height,
      imageWidth: input.image.width,
    },
    withHoles,
  };
}
