import type { AnnotationId } from '../../../app/model/index.js';
import type { Point } from '../mask-ops.js';
import type { ToolContext } from './tool.js';

/** Visible instances under `p`, topmost (last drawn) first: mask pixels when there is a mask, else the box. */
export function hitTest(ctx: ToolContext, p: Point): AnnotationId[] {
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  const hits: AnnotationId[] = [];
  const list = ctx.editor.annotations;
  for (let i = list.length - 1; i >= 0; i--) {
    const a = list[i]!;
    if (!ctx.isVisible(a.id)) continue;
    const [bx, by, bw, bh] = a.bbox;
    if (p.x < bx || p.y < by || p.x > bx + bw || p.y > by + bh) continue;
    const mask = ctx.editor.mask(a.id);
    if (!mask || (x >= 0 && y >= 0 && x < mask.width && y < mask.height && mask.data[y * mask.width + x])) hits.push(a.id);
  }
  return hits;
}
