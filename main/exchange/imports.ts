// What every annotation import (LabelMe, YOLO) does with the project once its files are read: find the project's
// image for each file, check it, and write all the objects in one transaction as people's accepted annotations,
// categories matched by name (new ones created), objects already there not added twice.
import { randomUUID } from 'node:crypto';
import { relative, resolve, sep } from 'node:path';
import type { ImportedInstance, Problems } from '../../app/formats/common.js';
import { basenameOf } from '../../app/formats/common.js';
import { diffOf } from '../../app/history/diff.js';
import { AnnotationId, type Annotation, type CategoryId, type ImageRecord } from '../../app/model/index.js';
import type { ProjectStore } from '../store/index.js';

/** The path relative to the project folder when `absolute` lies inside it, else null. */
export function insideFolder(folder: string, absolute: string): string | null {
  const rel = relative(folder, absolute);
  if (rel === '' || rel.startsWith('..') || resolve(folder, rel) !== absolute) return null;
  return rel.split(sep).join('/');
}

/** The project's images by path and by file name, for matching the paths an input names. */
export class ProjectImages {
  private readonly byPath = new Map<string, ImageRecord>();
  private readonly byName = new Map<string, ImageRecord[]>();

  constructor(store: ProjectStore) {
    let after: string | null = null;
    do {
      const page = store.images.list({ after, limit: 1000 });
      for (const image of page.items) {
        this.byPath.set(image.path, image);
        const name = basenameOf(image.path);
        this.byName.set(name, [...(this.byName.get(name) ?? []), image]);
      }
      after = page.next;
    } while (after !== null);
  }

  /**
   * The first candidate path (relative to the project folder) that is a project image; else, when exactly one
   * project image has the file name of the first candidate, that one. Missing files do not match.
   */
  match(candidates: readonly (string | null)[]): ImageRecord | undefined {
    const paths = candidates.filter((c): c is string => c !== null && c !== '');
    for (const path of paths) {
      const image = this.byPath.get(path);
      if (image && !image.missing) return image;
    }
    const named = paths.length > 0 ? (this.byName.get(basenameOf(paths[0]!)) ?? []).filter((i) => !i.missing) : [];
    return named.length === 1 ? named[0] : undefined;
  }
}

/** Problems with the project image a file was matched to: not decodable, or another size than the file says. */
export function checkMatchedImage(image: ImageRecord, declared: { width: number | null; height: number | null }, where: string, problems: Problems): boolean {
  if (image.status === 'error') {
    problems.add(where, `its image ${image.path} could not be decoded when scanned (${image.error ?? 'unreadable'})`);
    return false;
  }
  const width = declared.width ?? image.width;
  const height = declared.height ?? image.height;
  if (width !== image.width || height !== image.height) {
    problems.add(where, `says its image is ${width} x ${height}, but ${image.path} is ${image.width} x ${image.height} (width x height, as displayed)`);
    return false;
  }
  return true;
}

export interface PlannedImage {
  readonly image: ImageRecord;
  readonly instances: readonly ImportedInstance[];
}

export interface WrittenImport {
  /** Annotations written. */
  readonly imported: number;
  /** Images that received at least one annotation. */
  readonly images: number;
  /** Category names this import created. */
  readonly newCategories: string[];
  /** Objects identical to an annotation the image already has (class, box, mask, crowd), not written twice. */
  readonly alreadyPresent: number;
}

const keyOf = (categoryId: CategoryId, a: Pick<Annotation, 'bbox' | 'mask' | 'crowd'>) =>
  `${categoryId}|${a.bbox.join(',')}|${a.mask ? `${a.mask.size.join('x')}:${a.mask.counts}` : '-'}|${a.crowd ? 1 : 0}`;

/**
 * Writes the planned objects in one transaction (all of them or none) as people's accepted annotations.
 * `classes` are the input's own class list (created in its order, used or not); other labels are created in
 * the order they first appear.
 */
export function writeImport(store: ProjectStore, planned: readonly PlannedImage[], classes: readonly string[] = []): WrittenImport {
  const names = [...new Set([...classes, ...planned.flatMap((p) => p.instances.map((i) => i.label))])];
  const existing = new Set(store.categories.list().map((c) => c.name));
  const newCategories = names.filter((name) => !existing.has(name));
  let imported = 0;
  let images = 0;
  let alreadyPresent = 0;
  store.transaction(() => {
    const categoryIds = new Map(store.categories.ensure(names).map((c) => [c.name, c.id]));
    for (const { image, instances } of planned) {
      const keys = new Set(store.annotations.forImage(image.id).map((a) => keyOf(a.categoryId, a)));
      const added: Annotation[] = [];
      for (const instance of instances) {
        const categoryId = categoryIds.get(instance.label)!;
        const key = keyOf(categoryId, instance);
        if (keys.has(key)) {
          alreadyPresent++;
          continue;
        }
        keys.add(key);
        added.push({
          id: AnnotationId(randomUUID()),
          imageId: image.id,
          categoryId,
          bbox: instance.bbox,
          mask: instance.mask,
          score: null,
          origin: 'human',
          modelId: null,
          state: 'accepted',
          ...(instance.crowd ? { crowd: true } : {}),
        });
      }
      if (added.length === 0) continue;
      store.annotations.apply(image.id, diffOf({ added }), 'human');
      imported += added.length;
      images++;
    }
  });
  return { imported, images, newCategories, alreadyPresent };
}
