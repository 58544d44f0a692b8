// Pixel operations on full-image bit masks (row-major, 0/1), for the brush, eraser, fill and box edits.
import type { ImagePoint } from '../../app/geometry/points.js';
import type { BitMask } from '../../app/geometry/rle.js';
import type { Bbox } from '../../app/model/index.js';

export const emptyMask = (width: number, height: number): BitMask => ({ width, height, data: new Uint8Array(width * height) });

export const copyMask = (mask: BitMask): BitMask => ({ width: mask.width, height: mask.height, data: mask.data.slice() });

/** Sets (value 1) or clears (value 0) a disc of `radius` pixels around (cx, cy), in place. */
export function paintDisc(mask: BitMask, cx: number, cy: number, radius: number, value: 0 | 1): void {
  const r = Math.max(0.5, radius);
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(mask.width - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(mask.height - 1, Math.ceil(cy + r));
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) mask.data[y * mask.width + x] = value;
    }
  }
}

/** Paints a stroke through `points` with discs close enough to leave no gaps, in place. */
export function paintStroke(mask: BitMask, points: readonly ImagePoint[], radius: number, value: 0 | 1): void {
  const step = Math.max(0.5, radius / 3);
  points.forEach((p, i) => {
    const prev = i === 0 ? p : points[i - 1]!;
    const length = Math.hypot(p.x - prev.x, p.y - prev.y);
    const n = Math.max(1, Math.ceil(length / step));
    for (let k = i === 0 ? 0 : 1; k <= n; k++) {
      const t = k / n;
      paintDisc(mask, prev.x + (p.x - prev.x) * t, prev.y + (p.y - prev.y) * t, radius, value);
    }
  });
}

/** Fills every hole: unset pixels not connected (4-way) to the image border become set. Returns a new mask. */
export function fillHoles(mask: BitMask): BitMask {
  const { width: w, height: h, data } = mask;
  const outside = new Uint8Array(w * h);
  const stack: number[] = [];
  const seed = (i: number) => {
    if (!data[i] && !outside[i]) {
      outside[i] = 1;
      stack.push(i);
    }
  };
  for (let x = 0; x < w; x++) {
    seed(x);
    seed((h - 1) * w + x);
  }
  for (let y = 0; y < h; y++) {
    seed(y * w);
    seed(y * w + w - 1);
  }
  while (stack.length > 0) {
    const i = stack.pop()!;
    const x = i % w;
    if (x > 0) seed(i - 1);
    if (x < w - 1) seed(i + 1);
    if (i >= w) seed(i - w);
    if (i < w * (h - 1)) seed(i + w);
  }
  const filled = new Uint8Array(w * h);
  for (let i = 0; i < filled.length; i++) filled[i] = outside[i] ? 0 : 1;
  return { width: w, height: h, data: filled };
}


/**
 * Moves and scales the mask's content from box `from` to box `to` (nearest neighbour), as when a
 * person moves or resizes an instance's box. Pixels outside `from` are dropped.
 */
export function remapMask(mask: BitMask, from: Bbox, to: Bbox): BitMask {
  const out = emptyMask(mask.width, mask.height);
  const [fx, fy, fw, fh] = from;
  const [tx, ty, tw, th] = to;
  if (fw <= 0 || fh <= 0 || tw <= 0 || th <= 0) return out;
  const xStart = Math.max(0, Math.floor(tx));
  const xEnd = Math.min(mask.width, Math.ceil(tx + tw));
  const yStart = Math.max(0, Math.floor(ty));
  const yEnd = Math.min(mask.height, Math.ceil(ty + th));
  for (let y = yStart; y < yEnd; y++) {
    const sy = Math.floor(fy + ((y + 0.5 - ty) * fh) / th);
    if (sy < 0 || sy >= mask.height) continue;
    for (let x = xStart; x < xEnd; x++) {
      const sx = Math.floor(fx + ((x + 0.5 - tx) * fw) / tw);
      if (sx < 0 || sx >= mask.width) continue;
      out.data[y * mask.width + x] = mask.data[sy * mask.width + sx] ? 1 : 0;
    }
  }
  return out;
}

/** The mask moved by whole pixels; what leaves the image is dropped. */
export function shiftMask(mask: BitMask, dx: number, dy: number): BitMask {
  const { width: w, height: h } = mask;
  const out = emptyMask(w, h);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
    if (x1 > x0) out.data.set(mask.data.subarray((y - dy) * w + x0 - dx, (y - dy) * w + x1 - dx), y * w + x0);
  }
  return out;
}

/** The part of the mask inside the box: pixels whose centre lies outside it are cleared. */
export function clipMask(mask: BitMask, [bx, by, bw, bh]: Bbox): BitMask {
  const { width: w, height: h } = mask;
  const out = emptyMask(w, h);
  // Pixel i is inside when bx <= i + 0.5 <= bx + bw.
  const x0 = Math.max(0, Math.ceil(bx - 0.5));
  const x1 = Math.min(w, Math.floor(bx + bw - 0.5) + 1);
  const y0 = Math.max(0, Math.ceil(by - 0.5));
  const y1 = Math.min(h, Math.floor(by + bh - 0.5) + 1);
  for (let y = y0; y < y1; y++) {
    if (x1 > x0) out.data.set(mask.data.subarray(y * w + x0, y * w + x1), y * w + x0);
  }
  return out;
}

export function countSet(mask: BitMask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i] ? 1 : 0;
  return n;
}
