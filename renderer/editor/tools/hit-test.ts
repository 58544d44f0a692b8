// Which instances are under a point: their mask pixels where they have a mask, else their box.
import type { ImagePoint } from '../../../app/geometry/points.js';
import { toBbox } from '../../../app/geometry/rle.js';
import type { Annotation, AnnotationId, Bbox, Rle } from '../../../app/model/index.js';
import type { AnnotationDocument } from '../document.js';
import { pixelAt } from '../rle-ops.js';

/** Mask extents from the runs (cheap), cached per mask: a model's box can be a pixel tighter than its mask. */
const extents = new WeakMap<Rle, Bbox>();

export function maskExtent(rle: Rle): Bbox {
  let box = extents.get(rle);
  if (!box) extents.set(rle, (box = toBbox(rle)));
  return box;
}

export const insideBox = (p: { readonly x: number; readonly y: number }, [x, y, w, h]: Bbox): boolean => p.x >= x && p.y >= y && p.x <= x + w && p.y <= y + h;

/** Pickable instances under `p`, topmost (last drawn) first. */
export function hitTest(document: AnnotationDocument, isPickable: (a: Annotation) => boolean, p: ImagePoint): AnnotationId[] {
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  const hits: AnnotationId[] = [];
  const list = document.annotations;
  for (let i = list.length - 1; i >= 0; i--) {
    const a = list[i]!;
    if (!isPickable(a)) continue;
    if (!a.mask) {
      if (insideBox(p, a.bbox)) hits.push(a.id);
      continue;
    }
    // Only masks whose extent holds the point are looked up, in their runs (never expanded to pixels).
    if (insideBox(p, maskExtent(a.mask)) && pixelAt(a.mask, x, y)) hits.push(a.id);
  }
  return hits;
}

/** Whether two boxes overlap (touching counts). */
export function boxesMeet([ax, ay, aw, ah]: Bbox, [bx, by, bw, bh]: Bbox): boolean {
  return ax <= bx + bw && bx <= ax + aw && ay <= by + bh && by <= ay + ah;
}
