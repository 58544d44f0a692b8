// The eight resize handles of a box: where they are, which one a press takes, and the box a drag makes.
import { imagePoint, type ImagePoint } from '../../../app/geometry/points.js';
import type { Bbox } from '../../../app/model/index.js';

export const HANDLES = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'] as const;
export type Handle = (typeof HANDLES)[number];

/** Half the side of a handle's square, in screen pixels: what the canvas draws and a press can take. */
export const HANDLE_RADIUS = 5;

export const HANDLE_CURSORS: Readonly<Record<Handle, string>> = {
  nw: 'nwse-resize', se: 'nwse-resize', ne: 'nesw-resize', sw: 'nesw-resize', n: 'ns-resize', s: 'ns-resize', e: 'ew-resize', w: 'ew-resize',
};

export function handlePoint([x, y, w, h]: Bbox, handle: Handle): ImagePoint {
  const hx = handle.includes('w') ? x : handle.includes('e') ? x + w : x + w / 2;
  const hy = handle.startsWith('n') ? y : handle.startsWith('s') ? y + h : y + h / 2;
  return imagePoint(hx, hy);
}

/** The handle whose square (of half-side `radius` image pixels) holds `p`, corners before edges; null when none. */
export function handleAt(box: Bbox, p: ImagePoint, radius: number): Handle | null {
  const order: readonly Handle[] = ['nw', 'ne', 'se', 'sw', 'n', 'e', 's', 'w'];
  for (const handle of order) {
    const q = handlePoint(box, handle);
    if (Math.abs(q.x - p.x) <= radius && Math.abs(q.y - p.y) <= radius) return handle;
  }
  return null;
}

/** The box after dragging `handle` of `original` to `to`: the edges the handle holds follow; dragged past the other side, the box flips. */
export function resizeBox([x, y, w, h]: Bbox, handle: Handle, to: ImagePoint): Bbox {
  let [x0, y0, x1, y1] = [x, y, x + w, y + h];
  if (handle.includes('w')) x0 = to.x;
  if (handle.includes('e')) x1 = to.x;
  if (handle.startsWith('n')) y0 = to.y;
  if (handle.startsWith('s')) y1 = to.y;
  return [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
}
