// Pixel operations on full-image bit masks (row-major, 0/1), for the brush, eraser, fill and box edits. The
// *Within variants read only a box known to hold every set pixel, so an edit on a 24-megapixel image costs what
// the instance's size costs, not the image's.
import type { ImagePoint } from '../../app/geometry/points.js';
import { compressCounts, toCounts, type BitMask } from '../../app/geometry/rle.js';
import type { Bbox, Rle } from '../../app/model/index.js';
import { columnRuns } from './mask-runs.js';

export const emptyMask = (width: number, height: number): BitMask => ({ width, height, data: new Uint8Array(width * height) });

export const copyMask = (mask: BitMask): BitMask => ({ width: mask.width, height: mask.height, data: mask.data.slice() });

/**
 * Sets (value 1) or clears (value 0) a disc of `radius` pixels around (cx, cy), in place. The centre is in image
 * pixels: a crop's pixel (i, j) is the image's (x + i, y + j), so where a crop sits never changes which pixels a
 * disc covers.
 */
export function paintDisc(mask: BitMask | Crop, cx: number, cy: number, radius: number, value: 0 | 1): void {
  const ox = 'x' in mask ? mask.x : 0;
  const oy = 'y' in mask ? mask.y : 0;
  const r = Math.max(0.5, radius);
  const x0 = Math.max(ox, Math.floor(cx - r));
  const x1 = Math.min(ox + mask.width - 1, Math.ceil(cx + r));
  const y0 = Math.max(oy, Math.floor(cy - r));
  const y1 = Math.min(oy + mask.height - 1, Math.ceil(cy + r));
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    const row = (y - oy) * mask.width - ox;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) mask.data[row + x] = value;
    }
  }
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

/** Whole-pixel [x0, y0, x1, y1) of a box, clipped to the mask. */
function pixelRange(mask: BitMask, [x, y, w, h]: Bbox): [number, number, number, number] {
  return [
    Math.max(0, Math.floor(x)), Math.max(0, Math.floor(y)),
    Math.min(mask.width, Math.ceil(x + w)), Math.min(mask.height, Math.ceil(y + h)),
  ];
}

/** The smallest box holding both. */
export function unionBox([ax, ay, aw, ah]: Bbox, [bx, by, bw, bh]: Bbox): Bbox {
  const x = Math.min(ax, bx);
  const y = Math.min(ay, by);
  return [x, y, Math.max(ax + aw, bx + bw) - x, Math.max(ay + ah, by + bh) - y];
}

/** The box a stroke of `radius` through `points` can paint. */
export function strokeBox(points: readonly ImagePoint[], radius: number): Bbox {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const r = Math.max(0.5, radius) + 1;
  const x = Math.min(...xs) - r;
  const y = Math.min(...ys) - r;
  return [x, y, Math.max(...xs) + r - x, Math.max(...ys) + r - y];
}

/**
 * maskBounds for a mask whose set pixels all lie inside `within`: only that box is read, from its edges inwards,
 * stopping at the first set pixel on each side (a mask that fills its box costs a few rows and columns).
 */
export function boundsWithin(mask: BitMask, within: Bbox): Bbox | null {
  const { width: w, data } = mask;
  const [bx0, by0, bx1, by1] = pixelRange(mask, within);
  const rowSet = (y: number) => {
    for (let i = y * w + bx0, end = y * w + bx1; i < end; i++) if (data[i]) return true;
    return false;
  };
  let y0 = by0;
  while (y0 < by1 && !rowSet(y0)) y0++;
  if (y0 === by1) return null;
  let y1 = by1 - 1;
  while (!rowSet(y1)) y1--;
  const columnSet = (x: number) => {
    for (let i = y0 * w + x, end = y1 * w + x; i <= end; i += w) if (data[i]) return true;
    return false;
  };
  let x0 = bx0;
  while (!columnSet(x0)) x0++;
  let x1 = bx1 - 1;
  while (!columnSet(x1)) x1--;
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** encode(mask) for a mask whose set pixels all lie inside `within`: only that box is read. */
export function encodeWithin(mask: BitMask, within: Bbox): Rle {
  const { width: w, height: h } = mask;
  const [x0, y0, x1, y1] = pixelRange(mask, within);
  return encodeBox(mask.data, w, y0 * w + x0, Math.max(0, x1 - x0), Math.max(0, y1 - y0), x0, y0, w, h);
}

/**
 * The RLE of a `width` x `height` image whose only set pixels are the crop's, placed at (crop.x, crop.y).
 * `within` (image pixels), when given, holds every set pixel of the crop: only it is read.
 */
export function encodeCrop(crop: Crop, width: number, height: number, within?: Bbox): Rle {
  if (!within) return encodeBox(crop.data, crop.width, 0, crop.width, crop.height, crop.x, crop.y, width, height);
  const [x0, y0, x1, y1] = pixelRange(crop, [within[0] - crop.x, within[1] - crop.y, within[2], within[3]]);
  return encodeBox(crop.data, crop.width, y0 * crop.width + x0, Math.max(0, x1 - x0), Math.max(0, y1 - y0), crop.x + x0, crop.y + y0, width, height);
}

/**
 * The runs of a w x h image that is unset outside a box of `columns` x `rows` at (x0, y0), whose pixel (x0 + c,
 * y0 + r) is data[start + r * stride + c]. The box is read row by row (in memory order) noting, for each column,
 * the rows where the value changes; the runs are those changes in column-major order.
 */
function encodeBox(data: Uint8Array, stride: number, start: number, columns: number, rows: number, x0: number, y0: number, w: number, h: number): Rle {
  const changes: number[][] = Array.from({ length: columns }, () => []);
  const value = new Uint8Array(columns);
  for (let r = 0; r < rows; r++) {
    const row = start + r * stride;
    for (let c = 0; c < columns; c++) {
      const v = data[row + c] ? 1 : 0;
      if (v !== value[c]) {
        changes[c]!.push(y0 + r);
        value[c] = v;
      }
    }
  }
  // Pixel indices (column-major) where a run ends; two at the same index (a run carried into the next column) cancel.
  const toggles: number[] = [];
  const toggle = (at: number) => {
    if (toggles.length > 0 && toggles[toggles.length - 1] === at) toggles.pop();
    else toggles.push(at);
  };
  for (let c = 0; c < columns; c++) {
    const base = (x0 + c) * h;
    for (const y of changes[c]!) toggle(base + y);
    if (value[c]) toggle(base + y0 + rows);
  }
  const counts: number[] = [];
  let previous = 0;
  for (const at of toggles) {
    counts.push(at - previous);
    previous = at;
  }
  // The last run is of 0s, unless the last pixel is set (then the 1s already closed at w * h).
  if (previous < w * h || counts.length === 0) counts.push(w * h - previous);
  return { size: [h, w], counts: compressCounts(counts) };
}

/** A part of an image's mask, as a mask of its own size, and where it sits in the image. */
export type Crop = BitMask & { readonly x: number; readonly y: number };

/** An empty crop covering the box (clipped to a width x height image). */
export function emptyCrop(box: Bbox, width: number, height: number): Crop {
  const [x0, y0, x1, y1] = pixelRange({ width, height, data: new Uint8Array(0) }, box);
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  return { width: w, height: h, data: new Uint8Array(w * h), x: x0, y: y0 };
}

/** The part of the mask inside the box, as a mask of the box's size; `x`, `y` is where it sits in the image. */
export function cropMask(mask: BitMask, box: Bbox): Crop {
  const [x0, y0, x1, y1] = pixelRange(mask, box);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) data.set(mask.data.subarray((y + y0) * mask.width + x0, (y + y0) * mask.width + x0 + width), y * width);
  return { width, height, data, x: x0, y: y0 };
}

/** The part of an RLE mask inside the box, decoded straight from the runs (the rest of the image is never written). */
export function decodeWithin(rle: Rle, box: Bbox): Crop {
  const [h, w] = rle.size;
  const [x0, y0, x1, y1] = pixelRange({ width: w, height: h, data: new Uint8Array(0) }, box);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const data = new Uint8Array(width * height);
  const counts = toCounts(rle);
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const end = pos + counts[j]!;
    // Runs of 1s, column by column, clipped to the box.
    for (let k = j % 2 === 1 ? Math.max(pos, x0 * h) : end; k < end && k < x1 * h; ) {
      const x = Math.floor(k / h);
      const top = k - x * h;
      const bottom = Math.min(h, top + (end - k));
      for (let y = Math.max(top, y0); y < Math.min(bottom, y1); y++) data[(y - y0) * width + (x - x0)] = 1;
      k += bottom - top;
    }
    pos = end;
  }
  return { width, height, data, x: x0, y: y0 };
}

/**
 * The mask inside the box sampled every `step` pixels (each cell takes the pixel near its centre), straight from
 * the runs: what the vertex tool traces when the view shows several image pixels per screen pixel.
 */
export function sampleWithin(rle: Rle, box: Bbox, step: number): Crop & { readonly step: number } {
  const [h, w] = rle.size;
  const [x0, y0, x1, y1] = pixelRange({ width: w, height: h, data: new Uint8Array(0) }, box);
  const width = Math.max(0, Math.ceil((x1 - x0) / step));
  const height = Math.max(0, Math.ceil((y1 - y0) / step));
  const data = new Uint8Array(width * height);
  const runs = columnRuns(rle);
  const offset = Math.floor(step / 2);
  for (let i = 0; runs && i < width; i++) {
    const x = Math.min(x1 - 1, x0 + i * step + offset);
    const column = runs.columns[x - runs.x0] ?? [];
    let k = 0;
    for (let j = 0; j < height; j++) {
      const y = Math.min(y1 - 1, y0 + j * step + offset);
      while (k < column.length && column[k + 1]! <= y) k += 2;
      if (k < column.length && column[k]! <= y) data[j * width + i] = 1;
    }
  }
  return { width, height, data, x: x0, y: y0, step };
}
