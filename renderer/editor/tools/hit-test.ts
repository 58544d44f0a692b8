import { toBbox } from '../../../app/geometry/rle.js';
import type { AnnotationId, Bbox, Rle } from '../../../app/model/index.js';
import type { Point } from '../mask-ops.js';
import type { ToolContext } from './tool.js';

/** Mask extents from the runs (cheap), cached per mask: a model's box can be a pixel tighter than its mask. */
const extents = new WeakMap<Rle, Bbox>();

function extentOf(rle: Rle): Bbox {
  let box = extents.get(rle);
  if (!box) extents.set(rle, (box = toBbox(rle)));
  return box;
}

const inside = (p: Point, [x, y, w, h]: Bbox) => p.x >= x && p.y >= y && p.x <= x + w && p.y <= y + h;

/** Visible instances under `p`, topmost (last drawn) first: mask pixels when there is a mask, else the box. */
export function hitTest(ctx: ToolContext, p: Point): AnnotationId[] {
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  const hits: AnnotationId[] = [];
  const list = ctx.editor.annotations;
  for (let i = list.length - 1; i >= 0; i--) {
    const a = list[i]!;
    if (!ctx.isVisible(a.id)) continue;
    if (!a.mask) {
      if (inside(p, a.bbox)) hits.push(a.id);
      continue;
    }
    // Only masks whose extent holds the point are decoded.
    if (!inside(p, extentOf(a.mask))) continue;
    const mask = ctx.editor.mask(a.id)!;
    if (x >= 0 && y >= 0 && x < mask.width && y < mask.height && mask.data[y * mask.width + x]) hits.push(a.id);
  }
  return hits;
}
