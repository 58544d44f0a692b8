// COCO between the project store and the pure format module: which images and annotations an export holds,
// and an import checked whole before one transaction writes it.
import { randomUUID } from 'node:crypto';
import {
  buildCocoDataset,
  CocoError,
  segmentationToRle,
  type CocoDataset,
  type CocoInfo,
} from '../../app/formats/coco.js';
import { AnnotationId, type Annotation, type CategoryId, type ImageId, type ImageRecord } from '../../app/model/index.js';
import type { ProjectStore } from './project.js';

export interface CocoExportOptions {
  /** Every image that can be exported, not only the reviewed ones. */
  readonly all?: boolean;
  /** Masks as polygons instead of RLE. */
  readonly polygons?: boolean;
  /** Keep the model's score on each prediction. */
  readonly scores?: boolean;
  readonly info?: CocoInfo;
}

/**
 * The project as a COCO dataset: reviewed images by default (`all` for every image), never missing or
 * undecodable ones, never rejected annotations. Category ids are the project's.
 */
export function projectToCoco(store: ProjectStore, options: CocoExportOptions = {}): CocoDataset {
  const images: ImageRecord[] = [];
  let after: string | null = null;
  do {
    const page = store.images.list({ ...(options.all ? {} : { status: 'reviewed' as const }), after, limit: 1000 });
    images.push(...page.items.filter((image) => !image.missing && image.status !== 'error'));
    after = page.next;
  } while (after !== null);
  const annotations = images.flatMap((image) => store.annotations.forImage(image.id));
  return buildCocoDataset({
    images,
    categories: store.categories.list(),
    annotations,
    segmentation: options.polygons ? 'polygon' : 'rle',
    includeScores: options.scores ?? false,
    ...(options.info ? { info: options.info } : {}),
  });
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

/**
 * Imports a parsed COCO dataset (see parseCocoDataset) as people's annotations, accepted: categories
 * matched by name, the file's new ones created (in its order), images matched by file_name (the path relative to the folder).
 * Everything is checked first; a problem throws CocoError naming where it is and nothing is written.
 * Annotations for images that are not in the project are reported, not imported.
 */
export function importCoco(store: ProjectStore, dataset: CocoDataset): CocoImportReport {
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
      throw new CocoError(`images[${i}]`, `${cocoImage.file_name} could not be decoded when scanned (${image.error ?? 'unreadable'})`);
    }
    if (image.width !== cocoImage.width || image.height !== cocoImage.height) {
      throw new CocoError(
        `images[${i}]`,
        `${cocoImage.file_name} is ${cocoImage.width}x${cocoImage.height} in the COCO file but ${image.width}x${image.height} ` +
          `(width x height, as displayed) in the project`,
      );
    }
    targets.set(cocoImage.id, image);
  });

  const existingKeys = new Map<number, Set<string>>();
  const planned = new Map<ImageId, { cocoCategory: string; annotation: Omit<Annotation, 'categoryId'> }[]>();
  let alreadyPresent = 0;
  const categoryByName = new Map(store.categories.list().map((c) => [c.name, c.id]));

  dataset.annotations.forEach((a, i) => {
    const skipped = notInProject.get(a.image_id);
    if (skipped) {
      skipped.annotations++;
      return;
    }
    const image = targets.get(a.image_id)!;
    let mask;
    try {
      mask = segmentationToRle(a.segmentation, image.height, image.width);
    } catch (error) {
      throw new CocoError(`annotations[${i}].segmentation`, error instanceof Error ? error.message : String(error));
    }
    const name = cocoCategoryNames.get(a.category_id)!;
    const annotation = {
      id: AnnotationId(randomUUID()),
      imageId: image.id,
      bbox: a.bbox,
      mask,
      score: a.score ?? null,
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
    forImage.push({ cocoCategory: name, annotation });
    planned.set(image.id, forImage);
  });

  const newCategories = dataset.categories.map((c) => c.name).filter((name) => !categoryByName.has(name));
  let imported = 0;
  store.transaction(() => {
    for (const category of store.categories.ensure(newCategories)) categoryByName.set(category.name, category.id);
    for (const [imageId, items] of planned) {
      const added = items.map(({ annotation, cocoCategory }) => ({
        ...annotation,
        categoryId: categoryByName.get(cocoCategory) as CategoryId,
      }));
      store.annotations.applyChanges(imageId, { added }, 'human');
      imported += added.length;
    }
  });

  return {
    imported,
    images: planned.size,
    newCategories,
    alreadyPresent,
    notInProject: [...notInProject.values()].filter((n) => n.annotations > 0),
  };
}
