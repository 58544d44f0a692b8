/** Box helpers for COCO [x, y, w, h] boxes in image pixels (continuous coordinates, not pixel indices). */
import type { Bbox } from '../model/types.js';
import type { ImagePoint } from './points.js';

export type { Bbox };

export function bboxArea([, , w, h]: Bbox): number {
  return Math.max(0, w) * Math.max(0, h);
}

/** Intersection over union, as pycocotools' bbox iou (without crowd); 0 when the boxes do not overlap. */
export function bboxIou(a: Bbox, b: Bbox): number {
  // min(right edges) - max(left edges), written so that it never exceeds either width: x + w - x can round
  // above w, which would put the IoU above 1.
  const w = Math.min(a[2], b[2], a[0] + a[2] - b[0], b[0] + b[2] - a[0]);
  const h = Math.min(a[3], b[3], a[1] + a[3] - b[1], b[1] + b[3] - a[1]);
  const intersection = w > 0 && h > 0 ? w * h : 0;
  // Checked after multiplying: two tiny sides can multiply to 0.
  if (intersection === 0) return 0;
  return intersection / (bboxArea(a) + bboxArea(b) - intersection);
}

/** The part of the box inside a width x height image; a box wholly outside becomes 0 wide or high at the border. */
export function clampBbox([x, y, w, h]: Bbox, width: number, height: number): Bbox {
  const x0 = clamp(x, 0, width);
  const y0 = clamp(y, 0, height);
  const x1 = clamp(x + w, x0, width);
  const y1 = clamp(y + h, y0, height);
  return [x0, y0, x1 - x0, y1 - y0];
}

/** The smallest box holding every point; [0, 0, 0, 0] for none. */
export function bboxFromPoints(points: Iterable<ImagePoint>): Bbox {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { x, y } of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return x0 > x1 ? [0, 0, 0, 0] : [x0, y0, x1 - x0, y1 - y0];
}

function clamp(v: number, low: number, high: number): number {
  return Math.min(Math.max(v, low), high);
}
