// COCO between the project store and the pure format module: the reviewed truth (truth.ts, as every format's export
// selects it) as a COCO dataset, the COCO identity kept from an import, and an import checked whole before one
// transaction writes it.
import { randomUUID } from 'node:crypto';
import {
  buildCoco,
  CocoError,
  segmentationToRle,
  type CocoDataset,
  type CocoExtra,
  type CocoInfo,
  type CocoLicense,
  type CocoProblem,
} from '../../app/formats/coco.js';
import {
  AnnotationId,
  CategoryId,
  ImageId,
  type Annotation,
  type ImageRecord,
} from '../../app/model/index.js';
import { diffOf } from '../../app/history/diff.js';
import type { ProjectStore } from './project.js';
import { selectTruth, type LeftOut, type TruthOptions } from './truth.js';

export const COCO_INFO_KEY = 'coco.info';
export const COCO_LICENSES_KEY = 'coco.licenses';

export interface CocoExportOptions extends TruthOptions {
  /** Masks as polygons instead of RLE (a mask with holes stays RLE unless polygonsStrict). */
  readonly polygons?: boolean;
  readonly polygonsStrict?: boolean;
  /** Keep the model's score on each prediction. */
  readonly scores?: boolean;
}

export type { LeftOut };

export interface CocoExportReport {
  readonly images: number;
  readonly annotations: number;
  /** Pending predictions written (only with includePending). */
  readonly pending: number;
  /** Instances whose mask has holes, in a polygon export: written as RLE (or filled, when strict). */
  readonly holes: number;
  /** Images in scope that were not written: missing, unreadable, changed since the scan, inconsistent. */
  readonly leftOut: LeftOut[];
  /** Images written without their stale annotations (made before the file changed; review the image again). */
  readonly staleLeftOut: { readonly path: string; readonly annotations: number }[];
}

/**
 * The project as a COCO dataset: the reviewed truth of the images in scope, as selectTruth chooses it for every
 * format. Imported images, categories and annotations keep their COCO ids; the others are numbered above the
 * largest id used.
 */
export function projectToCoco(
  store: ProjectStore,
  options: CocoExportOptions = {},
  changedSinceScan: ReadonlyMap<ImageId, string> = new Map(),
): { dataset: CocoDataset; report: CocoExportReport } {
  const includePending = options.includePending ?? false;
  const { items, leftOut, staleLeftOut, pending } = selectTruth(store, options, changedSinceScan);
  const images = items.map((item) => item.image);
  const annotations = items.flatMap((item) => item.annotations);

  const categories = store.categories.list();
  const identity = cocoIdentity(store);
  const info = store.meta.get<CocoInfo>(COCO_INFO_KEY);
  const licenses = store.meta.get<CocoLicense[]>(COCO_LICENSES_KEY);
  const { dataset, holes } = buildCoco({
    images,
    categories,
    annotations,
    segmentation: options.polygons ? 'polygon' : 'rle',
    polygonsStrict: options.polygonsStrict ?? false,
    includeScores: options.scores ?? false,
    includePending,
    cocoIds: {
      images: new Map(images.map((image) => [image.id, identity.image(image.id)])),
      categories: new Map(categories.map((category) => [category.id, identity.category(category.id)])),
      annotations: identity.annotations,
      firstNewAnnotationId: identity.maxAnnotation + 1,
    },
    extras: { images: identity.imageExtras, categories: identity.categoryExtras },
    ...(info !== undefined ? { info } : {}),
    ...(licenses !== undefined ? { licenses } : {}),
  });
  return {
    dataset,
    report: { images: dataset.images.length, annotations: dataset.annotations.length, pending, holes, leftOut, staleLeftOut },
  };
}

/** The COCO ids an export writes: the imported ones, and above the largest of those for the rest. */
function cocoIdentity(store: ProjectStore) {
  const { db } = store;
  const max = (table: string) => (db.prepare(`SELECT coalesce(max(coco_id), 0) AS n FROM ${table}`).get() as { n: number }).n;
  const maxImage = max('images');
  const maxCategory = max('categories');
  const imageRows = db.prepare(`SELECT id, coco_id, coco_extra FROM images WHERE coco_id IS NOT NULL OR coco_extra IS NOT NULL`).all() as {
    id: number;
    coco_id: number | null;
    coco_extra: string | null;
  }[];
  const categoryRows = db.prepare(`SELECT id, coco_id, coco_extra FROM categories`).all() as typeof imageRows;
  const imageIds = new Map(imageRows.filter((r) => r.coco_id !== null).map((r) => [r.id, r.coco_id!]));
  const categoryIds = new Map(categoryRows.filter((r) => r.coco_id !== null).map((r) => [r.id, r.coco_id!]));
  const extras = <K>(rows: typeof imageRows, key: (id: number) => K) =>
    new Map(rows.filter((r) => r.coco_extra !== null).map((r) => [key(r.id), JSON.parse(r.coco_extra!) as CocoExtra]));
  const annotationRows = db.prepare(`SELECT id, coco_id FROM annotations WHERE coco_id IS NOT NULL`).all() as { id: string; coco_id: number }[];
  return {
    image: (id: ImageId) => imageIds.get(id) ?? maxImage + id,
    category: (id: CategoryId) => categoryIds.get(id) ?? maxCategory + id,
    annotations: new Map(annotationRows.map((r) => [AnnotationId(r.id), r.coco_id])),
    maxAnnotation: annotationRows.reduce((n, r) => Math.max(n, r.coco_id), 0),
    imageExtras: extras(imageRows, ImageId),
    categoryExtras: extras(categoryRows, CategoryId),
  };
}

export interface CocoImportReport {
  /** Annotations written. */
  readonly imported: number;
  /** Images that received at least one annotation. */
  readonly images: number;
  /** Category names created by this import. */
  readonly newCategories: string[];
  /** Annotations identical to one the image already has (same class, box and mask), not written twice. */
  readonly alreadyPresent: number;
  /** COCO images whose file is not in the project, with how many annotations each had; those were not imported. */
  readonly notInProject: { readonly fileName: string; readonly annotations: number }[];
}

const normalisePath = (fileName: string) => fileName.replace(/\\/g, '/').replace(/^(\.\/)+/, '');

const annotationKey = (a: Pick<Annotation, 'categoryId' | 'bbox' | 'mask'>) =>
  `${a.categoryId}|${a.bbox.join(',')}|${a.mask ? `${a.mask.size.join('x')}:${a.mask.counts}` : '-'}`;

/** The fields of a COCO image or category that Loupe does not use, kept to be written back. */
function extraFields(record: Readonly<Record<string, unknown>>, used: readonly string[]): CocoExtra | null {
  const extra = Object.fromEntries(Object.entries(record).filter(([key]) => !used.includes(key)));
  return Object.keys(extra).length > 0 ? extra : null;
}

/**
 * Imports a parsed COCO dataset (see readCocoDataset) as people's annotations, accepted: categories matched by name,
 * the file's new ones created (in its order), images matched by file_name (the path relative to the folder). Each
 * image, category and annotation keeps its COCO id for later exports (unless it already has one, or another holds
 * it), with the fields Loupe does not use; the file's info and licenses are kept when the project has none yet.
 * Everything is checked first; problems throw CocoError listing each, and nothing is written. Annotations for
 * images that are not in the project are reported, not imported.
 */
export function importCoco(store: ProjectStore, dataset: CocoDataset): CocoImportReport {
  const problems: CocoProblem[] = [];
  const cocoCategoryNames = new Map(dataset.categories.map((c) => [c.id, c.name]));
  const targets = new Map<number, ImageRecord>();
  const notInProject = new Map<number, { fileName: string; annotations: number }>();
  dataset.images.forEach((cocoImage, i) => {
    const image = store.images.getByPath(normalisePath(cocoImage.file_name));
    if (!image || image.missing) {
      notInProject.set(cocoImage.id, { fileName: cocoImage.file_name, annotations: 0 });
      return;
    }
    if (image.status === 'error') {
      problems.push({ path: `images[${i}]`, reason: `${cocoImage.file_name} could not be decoded when scanned (${image.error ?? 'unreadable'})` });
      return;
    }
    if (image.width !== cocoImage.width || image.height !== cocoImage.height) {
      problems.push({
        path: `images[${i}]`,
        reason:
          `${cocoImage.file_name} is ${cocoImage.width}x${cocoImage.height} in the COCO file but ${image.width}x${image.height} ` +
          `(width x height, as displayed) in the project`,
      });
      return;
    }
    targets.set(cocoImage.id, image);
  });

  const existingKeys = new Map<number, Set<string>>();
  const planned = new Map<ImageId, { cocoCategory: string; cocoId: number; annotation: Omit<Annotation, 'categoryId'> }[]>();
  let alreadyPresent = 0;
  const categoryByName = new Map(store.categories.list().map((c) => [c.name, c.id]));

  dataset.annotations.forEach((a, i) => {
    const skipped = notInProject.get(a.image_id);
    if (skipped) {
      skipped.annotations++;
      return;
    }
    const image = targets.get(a.image_id);
    if (!image) return; // its image has a problem of its own, listed above
    let mask;
    try {
      mask = segmentationToRle(a.segmentation, image.height, image.width);
    } catch (error) {
      problems.push({ path: `annotations[${i}].segmentation`, reason: error instanceof Error ? error.message : String(error) });
      return;
    }
    const name = cocoCategoryNames.get(a.category_id)!;
    const annotation = {
      id: AnnotationId(randomUUID()),
      imageId: image.id,
      bbox: a.bbox,
      mask,
      score: null,
      origin: 'human' as const,
      modelId: null,
      state: 'accepted' as const,
      ...(a.iscrowd === 1 ? { crowd: true } : {}),
    };
    const known = categoryByName.get(name);
    if (known !== undefined) {
      let keys = existingKeys.get(image.id);
      if (!keys) {
        keys = new Set(store.annotations.forImage(image.id).map(annotationKey));
        existingKeys.set(image.id, keys);
      }
      const key = annotationKey({ ...annotation, categoryId: known });
      if (keys.has(key)) {
        alreadyPresent++;
        return;
      }
      keys.add(key);
    }
    const forImage = planned.get(image.id) ?? [];
    forImage.push({ cocoCategory: name, cocoId: a.id, annotation });
    planned.set(image.id, forImage);
  });
  CocoError.throwIfAny(problems);

  const newCategories = dataset.categories.map((c) => c.name).filter((name) => !categoryByName.has(name));
  let imported = 0;
  store.transaction(() => {
    for (const category of store.categories.ensure(newCategories)) categoryByName.set(category.name, category.id);
    const { db } = store;
    // An id another record already holds stays with it; the newcomer is numbered above the largest on export.
    const keepId = (table: string, column: 'id', id: number | string, cocoId: number, extra: CocoExtra | null) => {
      const taken = db.prepare(`SELECT 1 FROM ${table} WHERE coco_id = ? AND ${column} != ?`).get(cocoId, id);
      db.prepare(`UPDATE ${table} SET coco_id = coalesce(coco_id, ?) WHERE ${column} = ?`).run(taken ? null : cocoId, id);
      if (extra) db.prepare(`UPDATE ${table} SET coco_extra = coalesce(coco_extra, ?) WHERE ${column} = ?`).run(JSON.stringify(extra), id);
    };
    for (const category of dataset.categories) {
      keepId('categories', 'id', categoryByName.get(category.name)!, category.id, extraFields(category, ['id', 'name']));
    }
    const cocoImages = new Map(dataset.images.map((cocoImage) => [cocoImage.id, cocoImage]));
    for (const [cocoId, image] of targets) {
      const cocoImage = cocoImages.get(cocoId)!;
      keepId('images', 'id', image.id, cocoId, extraFields(cocoImage, ['id', 'file_name', 'width', 'height']));
    }
    for (const [imageId, items] of planned) {
      const added = items.map(({ annotation, cocoCategory }) => ({
        ...annotation,
        categoryId: categoryByName.get(cocoCategory) as CategoryId,
      }));
      store.annotations.apply(imageId, diffOf({ added }), 'human');
      items.forEach(({ annotation, cocoId }) => keepId('annotations', 'id', annotation.id, cocoId, null));
      imported += added.length;
    }
    if (dataset.info !== undefined && store.meta.get(COCO_INFO_KEY) === undefined) store.meta.set(COCO_INFO_KEY, dataset.info);
    if (dataset.licenses !== undefined && store.meta.get(COCO_LICENSES_KEY) === undefined) store.meta.set(COCO_LICENSES_KEY, dataset.licenses);
  });

  return {
    imported,
    images: planned.size,
    newCategories,
    alreadyPresent,
    notInProject: [...notInProject.values()].filter((n) => n.annotations > 0),
  };
}
