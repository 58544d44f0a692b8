// Which images and annotations an export to LabelMe, YOLO or VOC holds: the reviewed truth, as issue 13 states it
// (reviewed images; people's, edited and accepted annotations; pending predictions only when asked). COCO's export
// (main/store/coco.ts) is being moved onto the same rules; when the store offers them in one place, this file
// should ask it instead.
import type { Annotation, ImageRecord } from '../../app/model/index.js';
import type { ProjectStore } from '../store/index.js';

export interface SelectionOptions {
  /** Every image that can be exported, not only the reviewed ones. */
  readonly all?: boolean;
  /** Also the model's predictions nobody has accepted or rejected yet. */
  readonly includePending?: boolean;
}

export interface ExportItem {
  readonly image: ImageRecord;
  /** In the order they were made. */
  readonly annotations: Annotation[];
}

export interface Selection {
  readonly items: ExportItem[];
  /** Images that could not be exported, with the reason (the rest is exported). */
  readonly leftOut: { readonly path: string; readonly reason: string }[];
  /** Pending predictions not exported (without includePending). */
  readonly pendingLeftOut: number;
}

/** A model's prediction that no person has decided on. */
const isPending = (a: Annotation) => a.state === 'pending' && a.origin === 'model';

export function selectForExport(store: ProjectStore, options: SelectionOptions = {}): Selection {
  const items: ExportItem[] = [];
  const leftOut: { path: string; reason: string }[] = [];
  let pendingLeftOut = 0;
  let after: string | null = null;
  do {
    const page = store.images.list({ ...(options.all ? {} : { status: 'reviewed' as const }), after, limit: 1000 });
    for (const image of page.items) {
      if (image.missing) {
        leftOut.push({ path: image.path, reason: 'missing from the folder' });
        continue;
      }
      if (image.status === 'error') {
        leftOut.push({ path: image.path, reason: `cannot be decoded (${image.error ?? 'unreadable'})` });
        continue;
      }
      const all = store.annotations.forImage(image.id).filter((a) => a.state !== 'rejected');
      const annotations = options.includePending ? all : all.filter((a) => !isPending(a));
      pendingLeftOut += all.length - annotations.length;
      const misfit = annotations.find((a) => a.mask && (a.mask.size[0] !== image.height || a.mask.size[1] !== image.width));
      if (misfit?.mask) {
        leftOut.push({
          path: image.path,
          reason: `annotation ${misfit.id} has a ${misfit.mask.size[1]} x ${misfit.mask.size[0]} mask but the image is ${image.width} x ${image.height}`,
        });
        continue;
      }
      items.push({ image, annotations });
    }
    after = page.next;
  } while (after !== null);
  return { items, leftOut, pendingLeftOut };
}
