/**
 * COCO instance segmentation: the JSON types, a validating reader and a writer, pure (no files).
 *
 * Reading accepts segmentation as polygons ([[x1, y1, ...], ...]), plain RLE ({size, counts: number[]}) and
 * compressed RLE ({size, counts: string}); an empty list means a box without a mask. It accepts what other tools
 * write: null in optional fields (labelme2coco writes null in info, licenses, image urls and dates, supercategory)
 * and fields COCO does not define. Every problem is reported as `path: reason`, e.g.
 * `annotations[12].segmentation: RLE counts sum to 1000, expected 1200 (height 30 x width 40)`, all of them at once.
 * With a mask, bbox and area are the mask's (a file bbox that differs is counted, not trusted). Compressed RLE
 * strings are kept exactly, so importing and exporting a dataset gives identical strings; ids, `info`, `licenses`
 * and the image and category fields Loupe does not use travel through an import and export unchanged.
 */
import { z } from 'zod';
import { checkPolygon, faithfulPolygons, hasHoles, PolygonError, polygonsToRle } from '../geometry/polygon.js';
import { area as rleArea, checkCounts, decode, fromCounts, RleError, toBbox, toCounts } from '../geometry/rle.js';
import type { AnnotationId, CategoryId, ImageId } from '../model/ids.js';
import type { Annotation, Category, ImageRecord, Rle } from '../model/types.js';
import { isTruth } from '../review/rules.js';

/** COCO's `info`, kept as the file had it. */
export type CocoInfo = Readonly<Record<string, unknown>>;
/** One entry of COCO's `licenses`, kept as the file had it. */
export type CocoLicense = Readonly<Record<string, unknown>>;
/** Fields of an image or category that Loupe does not use (license, coco_url, date_captured, supercategory...). */
export type CocoExtra = Readonly<Record<string, unknown>>;

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  readonly [field: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  readonly [field: string]: unknown;
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
  licenses?: CocoLicense[];
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

export interface CocoProblem {
  /** Where, e.g. `annotations[3].category_id`. */
  readonly path: string;
  readonly reason: string;
}

/** A COCO file that cannot be read: every problem found, the first as path and reason. */
export class CocoError extends Error {
  override name = 'CocoError';
  readonly problems: readonly CocoProblem[];
  constructor(
    readonly path: string,
    readonly reason: string,
    more: readonly CocoProblem[] = [],
  ) {
    super(`${path}: ${reason}${more.length > 0 ? ` (and ${more.length} more problem${more.length > 1 ? 's' : ''})` : ''}`);
    this.problems = [{ path, reason }, ...more];
  }

  /** Throws a CocoError listing `problems`, when there are any. */
  static throwIfAny(problems: readonly CocoProblem[]): void {
    const [first, ...more] = problems;
    if (first) throw new CocoError(first.path, first.reason, more);
  }
}

const cocoId = z.number().int().nonnegative();
// zod 4 numbers are finite: Infinity and NaN are refused.
const finite = z.number();
/** An optional field some tools write as null: null reads as absent. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

const datasetSchema = z.object({
  info: z.looseObject({}).nullish(),
  licenses: z.array(z.looseObject({})).nullish(),
  images: z.array(
    z.looseObject({
      id: cocoId,
      file_name: z.string().min(1),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    }),
  ),
  categories: z.array(z.looseObject({ id: cocoId, name: z.string().min(1) })),
  annotations: z.array(
    z.object({
      id: cocoId,
      image_id: cocoId,
      category_id: cocoId,
      // Checked below against its image, with messages zod's union errors cannot give.
      segmentation: z.unknown().optional(),
      bbox: optional(z.tuple([finite, finite, finite.nonnegative(), finite.nonnegative()])),
      area: optional(finite.nonnegative()),
      iscrowd: optional(z.union([z.literal(0), z.literal(1), z.boolean().transform((b) => (b ? 1 : 0))])),
      score: optional(finite),
    }),
  ),
});

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text ? '.' : ''}${String(key)}`;
  return text || '(top level)';
}

/** A dataset as read, with what was corrected on the way. */
export interface CocoRead {
  readonly dataset: CocoDataset;
  /**
   * Annotations whose file bbox is more than 1 pixel from their segmentation's own box (the polygon's, or the RLE
   * mask's); the mask's box is used.
   */
  readonly bboxFromMask: number;
}

/**
 * Validates a parsed COCO JSON document. Throws CocoError listing every problem: a missing or mistyped field, a
 * duplicated id or category name, an annotation whose image or category does not exist, a segmentation that cannot
 * be a mask of its image, a box-only annotation wholly outside its image. With a mask, bbox and area are taken from
 * it; iscrowd defaults to 0; null optional fields read as absent.
 */
export function readCocoDataset(json: unknown): CocoRead {
  const parsed = datasetSchema.safeParse(json);
  if (!parsed.success) {
    CocoError.throwIfAny(parsed.error.issues.map((issue) => ({ path: pathText(issue.path), reason: issue.message })));
  }
  const data = parsed.data!;
  const problems: CocoProblem[] = [];
  const images = new Map<number, CocoImage>();
  data.images.forEach((image, i) => {
    if (images.has(image.id)) problems.push({ path: `images[${i}].id`, reason: `${image.id} is used twice` });
    else images.set(image.id, image);
  });
  const categoryIds = new Set<number>();
  const categoryNames = new Set<string>();
  data.categories.forEach((category, i) => {
    if (categoryIds.has(category.id)) problems.push({ path: `categories[${i}].id`, reason: `${category.id} is used twice` });
    if (categoryNames.has(category.name)) {
      problems.push({ path: `categories[${i}].name`, reason: `${JSON.stringify(category.name)} is used twice` });
    }
    categoryIds.add(category.id);
    categoryNames.add(category.name);
  });
  const annotationIds = new Set<number>();
  let bboxFromMask = 0;
  const annotations: CocoAnnotation[] = [];
  data.annotations.forEach((a, i) => {
    const at = `annotations[${i}]`;
    const before = problems.length;
    if (annotationIds.has(a.id)) problems.push({ path: `${at}.id`, reason: `${a.id} is used twice` });
    annotationIds.add(a.id);
    const image = images.get(a.image_id);
    if (image === undefined) problems.push({ path: `${at}.image_id`, reason: `${a.image_id} does not exist` });
    if (!categoryIds.has(a.category_id)) problems.push({ path: `${at}.category_id`, reason: `${a.category_id} does not exist` });
    if (image === undefined) return;
    let segmentation: CocoSegmentation;
    let mask: Rle | null;
    try {
      segmentation = checkSegmentation(a.segmentation ?? [], image, `${at}.segmentation`);
      mask = segmentationToRle(segmentation, image.height, image.width);
    } catch (error) {
      if (error instanceof CocoError) problems.push(...error.problems);
      else if (error instanceof RleError || error instanceof PolygonError) problems.push({ path: `${at}.segmentation`, reason: error.message });
      else throw error;
      return;
    }
    const maskBox = mask && rleArea(mask) > 0 ? toBbox(mask) : null;
    const bbox = maskBox ?? a.bbox;
    if (bbox === undefined) {
      problems.push({ path: `${at}.bbox`, reason: 'is missing, and there is no mask to take it from' });
      return;
    }
    // A polygon's own box is what COCO tools write for it; its rasterised pixels may reach less far at thin tips.
    const drawn = Array.isArray(segmentation) && segmentation.length > 0 ? polygonsBox(segmentation) : maskBox;
    if (drawn && a.bbox && a.bbox.some((v, k) => Math.abs(v - drawn[k]!) > 1)) bboxFromMask++;
    if (mask === null && outsideImage(bbox, image)) {
      problems.push({
        path: `${at}.bbox`,
        reason: `[${bbox.join(', ')}] lies wholly outside image ${image.id} (width ${image.width} x height ${image.height})`,
      });
    }
    if (problems.length > before) return;
    annotations.push({
      id: a.id,
      image_id: a.image_id,
      category_id: a.category_id,
      segmentation,
      area: mask ? rleArea(mask) : (a.area ?? bbox[2] * bbox[3]),
      bbox: [bbox[0], bbox[1], bbox[2], bbox[3]],
      iscrowd: a.iscrowd ?? 0,
      ...(a.score === undefined ? {} : { score: a.score }),
    });
  });
  CocoError.throwIfAny(problems);
  return {
    dataset: {
      ...(data.info ? { info: data.info } : {}),
      ...(data.licenses ? { licenses: data.licenses } : {}),
      images: data.images,
      annotations,
      categories: data.categories.map(({ supercategory, ...rest }) =>
        supercategory === null || supercategory === undefined ? rest : { ...rest, supercategory },
      ) as CocoCategory[],
    },
    bboxFromMask,
  };
}

/** readCocoDataset's dataset alone. */
export function parseCocoDataset(json: unknown): CocoDataset {
  return readCocoDataset(json).dataset;
}

function polygonsBox(polygons: CocoPolygons): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const poly of polygons) {
    for (let i = 0; i + 1 < poly.length; i += 2) {
      x0 = Math.min(x0, poly[i]!);
      x1 = Math.max(x1, poly[i]!);
      y0 = Math.min(y0, poly[i + 1]!);
      y1 = Math.max(y1, poly[i + 1]!);
    }
  }
  return [x0, y0, x1 - x0, y1 - y0];
}

function outsideImage([x, y, w, h]: readonly number[], image: CocoImage): boolean {
  return x! >= image.width || y! >= image.height || x! + w! <= 0 || y! + h! <= 0;
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
  /** How masks are written: RLE (exact) or polygons (simplified outlines). */
  readonly segmentation: 'rle' | 'polygon';
  /**
   * With polygons, a mask with holes (which a polygon cannot express) is written as RLE, which is valid COCO; strict
   * writes it as a polygon anyway, its holes filled.
   */
  readonly polygonsStrict?: boolean;
  /** Write each annotation's score (predictions); people's annotations have none. */
  readonly includeScores: boolean;
  /** Write pending predictions too (by default only the reviewed truth: see app/review isTruth). */
  readonly includePending?: boolean;
  readonly info?: CocoInfo;
  readonly licenses?: readonly CocoLicense[];
  /** Polygon simplification in pixels (see faithfulPolygons); default 1. */
  readonly polygonTolerance?: number;
  /**
   * COCO ids to write; by default an image's and a category's own id. Annotations without one are numbered in
   * output order from firstNewAnnotationId (default 1).
   */
  readonly cocoIds?: {
    readonly images?: ReadonlyMap<ImageId, number>;
    readonly categories?: ReadonlyMap<CategoryId, number>;
    readonly annotations?: ReadonlyMap<AnnotationId, number>;
    readonly firstNewAnnotationId?: number;
  };
  /** COCO fields Loupe does not use, written back on each image and category. */
  readonly extras?: {
    readonly images?: ReadonlyMap<ImageId, CocoExtra>;
    readonly categories?: ReadonlyMap<CategoryId, CocoExtra>;
  };
}

/** A built dataset and what polygon output did with masks that have holes. */
export interface BuiltCoco {
  readonly dataset: CocoDataset;
  /** Instances whose mask has holes: written as RLE, or (polygonsStrict) as polygons with the holes filled. */
  readonly holes: number;
}

/**
 * The COCO dataset of the given images, categories and the reviewed truth of the annotations (isTruth: never a
 * rejected or stale one; a pending prediction only with includePending). Images and categories keep their ids (or
 * cocoIds'); annotations are numbered 1..n (or cocoIds'), in the order of their images and then as given. bbox and area of a
 * masked annotation are its mask's. Polygon coordinates are rounded to 2 decimals. Every annotation must belong to
 * one of the images and categories given (CocoError otherwise), and its mask must be the size of its image.
 */
export function buildCoco(input: BuildCocoInput): BuiltCoco {
  const images = new Map(input.images.map((image) => [image.id as number, image]));
  const categoryIds = new Set(input.categories.map((c) => c.id as number));
  const imageId = (id: ImageId) => input.cocoIds?.images?.get(id) ?? id;
  const categoryId = (id: CategoryId) => input.cocoIds?.categories?.get(id) ?? id;
  const position = new Map(input.images.map((image, i) => [image.id as number, i]));
  const kept = input.annotations
    .map((a, i) => ({ a, i }))
    .filter(({ a }) => isTruth(a, { includePending: input.includePending ?? false }))
    .sort((p, q) => (position.get(p.a.imageId) ?? -1) - (position.get(q.a.imageId) ?? -1) || p.i - q.i);
  let holes = 0;
  let nextNewId = input.cocoIds?.firstNewAnnotationId ?? 1;
  const annotations = kept.map(({ a }): CocoAnnotation => {
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
    let segmentation: CocoSegmentation = [];
    if (a.mask) {
      // COCO keeps a crowd region as RLE whatever form the other masks take.
      const written = exportMask(a.mask, a.crowd ? 'rle' : input.segmentation, input.polygonsStrict ?? false, input.polygonTolerance ?? 1);
      segmentation = written.segmentation;
      if (written.holes) holes++;
    }
    const maskArea = a.mask ? rleArea(a.mask) : 0;
    return {
      id: input.cocoIds?.annotations?.get(a.id) ?? nextNewId++,
      image_id: imageId(a.imageId),
      category_id: categoryId(a.categoryId),
      segmentation,
      area: a.mask ? maskArea : a.bbox[2] * a.bbox[3],
      bbox: maskArea > 0 ? [...toBbox(a.mask!)] : ([...a.bbox] as CocoAnnotation['bbox']),
      iscrowd: a.crowd ? 1 : 0,
      ...(input.includeScores && a.score !== null ? { score: a.score } : {}),
    };
  });
  const dataset: CocoDataset = {
    ...(input.info === undefined ? {} : { info: { ...input.info } }),
    ...(input.licenses === undefined ? {} : { licenses: input.licenses.map((l) => ({ ...l })) }),
    images: input.images.map((image) => ({
      ...input.extras?.images?.get(image.id),
      id: imageId(image.id),
      file_name: image.path,
      width: image.width,
      height: image.height,
    })),
    annotations,
    categories: input.categories.map((c) => ({ ...input.extras?.categories?.get(c.id), id: categoryId(c.id), name: c.name })),
  };
  return { dataset, holes };
}

/** buildCoco's dataset alone. */
export function buildCocoDataset(input: BuildCocoInput): CocoDataset {
  return buildCoco(input).dataset;
}

function exportMask(mask: Rle, form: 'rle' | 'polygon', strict: boolean, tolerance: number): { segmentation: CocoSegmentation; holes: boolean } {
  const rle = { size: [mask.size[0], mask.size[1]] as [number, number], counts: mask.counts };
  if (form === 'rle') return { segmentation: rle, holes: false };
  const bits = decode(mask);
  const holes = hasHoles(bits);
  if (holes && !strict) return { segmentation: rle, holes };
  // Two decimals: tracing and centring leave float noise (233.75000000000006) that no tool needs.
  return { segmentation: faithfulPolygons(bits, tolerance).map((poly) => poly.map((v) => Math.round(v * 100) / 100)), holes };
}
