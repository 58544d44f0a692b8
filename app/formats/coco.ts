/**
 * COCO instance segmentation: the JSON types, a validating reader and a writer, pure (no files).
 *
 * Reading accepts segmentation as polygons ([[x1, y1, ...], ...]), plain RLE ({size, counts: number[]}) and
 * compressed RLE ({size, counts: string}); an empty list means a box without a mask. Every problem is reported as
 * `path: reason`, e.g. `annotations[12].segmentation: RLE counts sum to 1000, expected 1200 (height 30 x width 40)`.
 * Compressed RLE strings are kept exactly, so importing and exporting a dataset gives identical strings.
 */
import { z } from 'zod';
import { checkPolygon, faithfulPolygons, PolygonError, polygonsToRle } from '../geometry/polygon.js';
import { area as rleArea, checkCounts, decode, fromCounts, RleError, toBbox, toCounts } from '../geometry/rle.js';
import type { Annotation, Category, ImageRecord, Rle } from '../model/types.js';

export interface CocoInfo {
  description?: string;
  version?: string;
  year?: number;
  contributor?: string;
  url?: string;
  date_created?: string;
}

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

export type CocoPolygons = number[][];

export interface CocoRle {
  size: [height: number, width: number];
  /** Compressed (cocoapi string) or plain (runs, zeros first, column-major). */
  counts: string | number[];
}

/** Polygons, or RLE; [] for a box without a mask. */
export type CocoSegmentation = CocoPolygons | CocoRle;

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: CocoSegmentation;
  area: number;
  bbox: [x: number, y: number, w: number, h: number];
  iscrowd: 0 | 1;
  score?: number;
}

export interface CocoDataset {
  info?: CocoInfo;
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** A COCO file that cannot be read; path says where (e.g. `annotations[3].category_id`). */
export class CocoError extends Error {
  override name = 'CocoError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

const cocoId = z.number().int().nonnegative();
// zod 4 numbers are finite: Infinity and NaN are refused.
const finite = z.number();

const infoSchema = z.object({
  description: z.string().optional(),
  version: z.string().optional(),
  year: z.number().optional(),
  contributor: z.string().optional(),
  url: z.string().optional(),
  date_created: z.string().optional(),
});

const datasetSchema = z.object({
  info: infoSchema.optional(),
  images: z.array(
    z.object({
      id: cocoId,
      file_name: z.string().min(1),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    }),
  ),
  categories: z.array(z.object({ id: cocoId, name: z.string().min(1), supercategory: z.string().optional() })),
  annotations: z.array(
    z.object({
      id: cocoId,
      image_id: cocoId,
      category_id: cocoId,
      // Checked below against its image, with messages zod's union errors cannot give.
      segmentation: z.unknown().optional(),
      bbox: z.tuple([finite, finite, finite.nonnegative(), finite.nonnegative()]).optional(),
      area: finite.nonnegative().optional(),
      iscrowd: z.union([z.literal(0), z.literal(1), z.boolean().transform((b) => (b ? 1 : 0))]).optional(),
      score: finite.optional(),
    }),
  ),
});

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text ? '.' : ''}${String(key)}`;
  return text || '(top level)';
}

/**
 * Validates a parsed COCO JSON document. Throws CocoError naming the first problem: a missing or mistyped field,
 * a duplicated id or category name, an annotation whose image or category does not exist, or a segmentation that
 * cannot be a mask of its image. Optional fields are filled in: iscrowd 0, bbox and area from the mask.
 */
export function parseCocoDataset(json: unknown): CocoDataset {
  const parsed = datasetSchema.safeParse(json);
  if (!parsed.success) {
    const [first, ...rest] = parsed.error.issues;
    const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    throw new CocoError(pathText(first!.path), first!.message + more);
  }
  const data = parsed.data;
  const images = new Map<number, CocoImage>();
  data.images.forEach((image, i) => {
    if (images.has(image.id)) throw new CocoError(`images[${i}].id`, `${image.id} is used twice`);
    images.set(image.id, image);
  });
  const categoryIds = new Set<number>();
  const categoryNames = new Set<string>();
  data.categories.forEach((category, i) => {
    if (categoryIds.has(category.id)) throw new CocoError(`categories[${i}].id`, `${category.id} is used twice`);
    if (categoryNames.has(category.name)) {
      throw new CocoError(`categories[${i}].name`, `${JSON.stringify(category.name)} is used twice`);
    }
    categoryIds.add(category.id);
    categoryNames.add(category.name);
  });
  const annotationIds = new Set<number>();
  const annotations = data.annotations.map((a, i): CocoAnnotation => {
    const at = `annotations[${i}]`;
    if (annotationIds.has(a.id)) throw new CocoError(`${at}.id`, `${a.id} is used twice`);
    annotationIds.add(a.id);
    const image = images.get(a.image_id);
    if (image === undefined) throw new CocoError(`${at}.image_id`, `${a.image_id} does not exist`);
    if (!categoryIds.has(a.category_id)) throw new CocoError(`${at}.category_id`, `${a.category_id} does not exist`);
    const segmentation = checkSegmentation(a.segmentation ?? [], image, `${at}.segmentation`);
    // Rasterise only when a field must be taken from the mask.
    const mask = a.bbox && a.area !== undefined ? null : segmentationToRle(segmentation, image.height, image.width);
    const bbox = a.bbox ?? (mask ? [...toBbox(mask)] : undefined);
    if (bbox === undefined) throw new CocoError(`${at}.bbox`, 'is missing, and there is no mask to take it from');
    const area = a.area ?? (mask ? rleArea(mask) : bbox[2] * bbox[3]);
    return {
      id: a.id,
      image_id: a.image_id,
      category_id: a.category_id,
      segmentation,
      area,
      bbox: [bbox[0], bbox[1], bbox[2], bbox[3]],
      iscrowd: a.iscrowd ?? 0,
      ...(a.score === undefined ? {} : { score: a.score }),
    };
  });
  return {
    ...(data.info === undefined ? {} : { info: data.info }),
    images: data.images,
    annotations,
    categories: data.categories,
  };
}

function checkSegmentation(seg: unknown, image: CocoImage, at: string): CocoSegmentation {
  try {
    if (Array.isArray(seg)) {
      seg.forEach((poly: unknown, i) => {
        if (!Array.isArray(poly)) throw new CocoError(`${at}[${i}]`, 'expected a polygon [x1, y1, x2, y2, ...]');
        try {
          checkPolygon(poly);
        } catch (e) {
          if (e instanceof PolygonError) throw new CocoError(`${at}[${i}]`, e.message);
          throw e;
        }
      });
      return seg as CocoPolygons;
    }
    if (typeof seg === 'object' && seg !== null && 'size' in seg && 'counts' in seg) {
      const { size, counts } = seg as { size: unknown; counts: unknown };
      if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 0)) {
        throw new CocoError(`${at}.size`, `expected [height, width], got ${JSON.stringify(size)}`);
      }
      const [h, w] = size as [number, number];
      if (typeof counts === 'string') toCounts({ size: [h, w], counts });
      else if (Array.isArray(counts)) checkCounts(counts, h, w);
      else throw new CocoError(`${at}.counts`, 'expected a compressed RLE string or an array of run lengths');
      if (h !== image.height || w !== image.width) {
        throw new CocoError(
          `${at}.size`,
          `[${h}, ${w}] does not match image ${image.id} (height ${image.height} x width ${image.width})`,
        );
      }
      return { size: [h, w], counts: typeof counts === 'string' ? counts : [...(counts as number[])] };
    }
    throw new CocoError(at, 'expected polygons [[x1, y1, ...], ...] or RLE {size, counts}');
  } catch (e) {
    if (e instanceof RleError) throw new CocoError(at, e.message);
    throw e;
  }
}

/**
 * A segmentation as the mask of a height x width image: polygons rasterised exactly as pycocotools does, plain
 * RLE compressed, compressed RLE kept as it is (checked). Null for [] (a box without a mask).
 * Throws RleError or PolygonError for malformed input.
 */
export function segmentationToRle(seg: CocoSegmentation, height: number, width: number): Rle | null {
  if (Array.isArray(seg)) return seg.length === 0 ? null : polygonsToRle(seg, height, width);
  if (typeof seg.counts !== 'string') return fromCounts(seg.size, seg.counts);
  const rle: Rle = { size: [seg.size[0], seg.size[1]], counts: seg.counts };
  toCounts(rle);
  return rle;
}

export interface BuildCocoInput {
  readonly images: readonly ImageRecord[];
  readonly categories: readonly Category[];
  readonly annotations: readonly Annotation[];
  /** How masks are written: RLE (exact, keeps holes) or polygons (simplified outlines, holes filled). */
  readonly segmentation: 'rle' | 'polygon';
  /** Write each annotation's score (predictions); people's annotations have none. */
  readonly includeScores: boolean;
  readonly info?: CocoInfo;
  /** Polygon simplification in pixels (see faithfulPolygons); default 1. */
  readonly polygonTolerance?: number;
}

/**
 * The COCO dataset of the given images, categories and annotations. Images and categories keep their ids;
 * annotations are numbered 1..n, ordered by image id and then as given. Rejected annotations are left out.
 * Every annotation must belong to one of the images and categories given (CocoError otherwise), and its mask must
 * be the size of its image.
 */
export function buildCocoDataset(input: BuildCocoInput): CocoDataset {
  const images = new Map(input.images.map((image) => [image.id as number, image]));
  const categoryIds = new Set(input.categories.map((c) => c.id as number));
  const kept = input.annotations
    .map((a, i) => ({ a, i }))
    .filter(({ a }) => a.state !== 'rejected')
    .sort((p, q) => p.a.imageId - q.a.imageId || p.i - q.i);
  const annotations = kept.map(({ a }, n): CocoAnnotation => {
    const image = images.get(a.imageId);
    if (image === undefined) {
      throw new CocoError(`annotation ${a.id}`, `its image ${a.imageId} is not among the images to export`);
    }
    if (!categoryIds.has(a.categoryId)) {
      throw new CocoError(`annotation ${a.id}`, `its category ${a.categoryId} is not among the categories to export`);
    }
    if (a.mask && (a.mask.size[0] !== image.height || a.mask.size[1] !== image.width)) {
      throw new CocoError(
        `annotation ${a.id}`,
        `mask is ${a.mask.size[0]} x ${a.mask.size[1]} but image ${image.path} is ${image.height} x ${image.width} (height x width)`,
      );
    }
    return {
      id: n + 1,
      image_id: a.imageId,
      category_id: a.categoryId,
      // COCO keeps a crowd region as RLE whatever form the other masks take.
      segmentation: a.mask ? exportMask(a.mask, a.crowd ? 'rle' : input.segmentation, input.polygonTolerance ?? 1) : [],
      area: a.mask ? rleArea(a.mask) : a.bbox[2] * a.bbox[3],
      bbox: [...a.bbox] as CocoAnnotation['bbox'],
      iscrowd: a.crowd ? 1 : 0,
      ...(input.includeScores && a.score !== null ? { score: a.score } : {}),
    };
  });
  return {
    ...(input.info === undefined ? {} : { info: { ...input.info } }),
    images: input.images.map((image) => ({
      id: image.id,
      file_name: image.path,
      width: image.width,
      height: image.height,
    })),
    annotations,
    categories: input.categories.map((c) => ({ id: c.id, name: c.name })),
  };
}

function exportMask(mask: Rle, form: 'rle' | 'polygon', tolerance: number): CocoSegmentation {
  if (form === 'rle') return { size: [mask.size[0], mask.size[1]], counts: mask.counts };
  return faithfulPolygons(decode(mask), tolerance);
}
