// Which images and annotations an export holds, the same for every format (COCO, YOLO, VOC, LabelMe): the reviewed
// truth of the images in scope (app/review isTruth), image by image, so one image that cannot be written is left out
// and named with its reason instead of failing the export.
import type { Annotation, ImageId, ImageRecord } from '../../app/model/index.js';
import { isPendingPrediction, isTruth } from '../../app/review/index.js';
import { checkMaskFits } from './annotations.js';
import type { ProjectStore } from './project.js';

export interface TruthOptions {
  /** 'reviewed' (default): reviewed images only; 'all': every image. */
  readonly scope?: 'reviewed' | 'all';
  /** Pending predictions too; by default only what a person made, edited or accepted. */
  readonly includePending?: boolean;
}

/** An image an export left out, and why. */
export interface LeftOut {
  readonly path: string;
  readonly reason: string;
}

/** One image to write and its annotations, in the order they were made. */
export interface TruthItem {
  readonly image: ImageRecord;
  readonly annotations: Annotation[];
}

export interface TruthSelection {
  readonly items: TruthItem[];
  /** Images in scope that cannot be written: missing, unreadable, changed since the scan, inconsistent. */
  readonly leftOut: LeftOut[];
  /** Images written without their stale annotations (made before the file changed; review the image again). */
  readonly staleLeftOut: { readonly path: string; readonly annotations: number }[];
  /** Pending predictions among the items' annotations (only with includePending). */
  readonly pending: number;
  /** Pending predictions of the items not written (without includePending). */
  readonly pendingLeftOut: number;
}

/**
 * The reviewed truth of the images in scope, in path order. Images that are missing, could not be decoded, appear
 * in `changedSinceScan` (id -> why), or hold an annotation that does not fit them are left out and named; stale and
 * rejected annotations are never written, and stale ones are counted.
 */
export function selectTruth(store: ProjectStore, options: TruthOptions = {}, changedSinceScan: ReadonlyMap<ImageId, string> = new Map()): TruthSelection {
  const includePending = options.includePending ?? false;
  const items: TruthItem[] = [];
  const leftOut: LeftOut[] = [];
  const staleLeftOut: { path: string; annotations: number }[] = [];
  let pending = 0;
  let pendingLeftOut = 0;
  let after: string | null = null;
  do {
    const page = store.images.list({ ...(options.scope === 'all' ? {} : { status: 'reviewed' as const }), after, limit: 1000 });
    for (const image of page.items) {
      const reason = whyLeftOut(image, changedSinceScan);
      const own = store.annotations.forImage(image.id);
      const truth = own.filter((a) => isTruth(a, { includePending }));
      const misfit = reason ?? misfitOf(truth, image);
      if (misfit !== null) {
        leftOut.push({ path: image.path, reason: misfit });
        continue;
      }
      const stale = own.filter((a) => a.stale !== undefined && a.state !== 'rejected').length;
      if (stale > 0) staleLeftOut.push({ path: image.path, annotations: stale });
      items.push({ image, annotations: truth });
      pending += truth.filter(isPendingPrediction).length;
      if (!includePending) pendingLeftOut += own.filter((a) => isPendingPrediction(a) && a.stale === undefined).length;
    }
    after = page.next;
  } while (after !== null);
  return { items, leftOut, staleLeftOut, pending, pendingLeftOut };
}

function whyLeftOut(image: ImageRecord, changedSinceScan: ReadonlyMap<ImageId, string>): string | null {
  if (image.missing) return 'the file is missing (moved or deleted since the last scan)';
  if (image.status === 'error') return `the file could not be decoded (${image.error ?? 'unreadable'})`;
  return changedSinceScan.get(image.id) ?? null;
}

/** Why the annotations cannot be written with this image (a mask of another size, counts that do not decode). */
function misfitOf(annotations: readonly Annotation[], image: ImageRecord): string | null {
  for (const a of annotations) {
    try {
      checkMaskFits(a, image);
    } catch (error) {
      return `${(error as Error).message}; fix or remove it in the app`;
    }
  }
  return null;
}
