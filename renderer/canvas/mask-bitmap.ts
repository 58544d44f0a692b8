// One bitmap per mask, decoded straight from the RLE into the mask's box (never a full-image buffer),
// painted in the class colour; the layer's opacity makes it semi-transparent.
import { toBbox, toCounts } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/index.js';

export interface MaskBitmap {
  readonly canvas: HTMLCanvasElement;
  readonly x: number;
  readonly y: number;
}

/** The mask's own extent (from its runs, not the annotation's box, which a model may draw tighter). */
export function maskBitmap(rle: Rle, color: string): MaskBitmap | null {
  const [h, w] = rle.size;
  const bbox = toBbox(rle);
  const x0 = Math.max(0, Math.floor(bbox[0]));
  const y0 = Math.max(0, Math.floor(bbox[1]));
  const x1 = Math.min(w, Math.ceil(bbox[0] + bbox[2]));
  const y1 = Math.min(h, Math.ceil(bbox[1] + bbox[3]));
  const cw = x1 - x0;
  const ch = y1 - y0;
  if (cw <= 0 || ch <= 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = cw;
  canvas.height = ch;
  const ctx = canvas.getContext('2d')!;
  const pixels = ctx.createImageData(cw, ch);
  const [r, g, b] = hexToRgb(color);
  // One 32-bit write per pixel; ImageData is RGBA in memory, little-endian on every platform we target.
  const out = new Uint32Array(pixels.data.buffer);
  const fill = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  const counts = toCounts(rle);
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const end = pos + counts[j]!;
    if (j % 2 === 1) {
      // Runs are column-major: walk them column by column, clipped to the crop.
      let k = pos;
      while (k < end) {
        const x = Math.floor(k / h);
        const yStart = k % h;
        const yEnd = Math.min(h, yStart + (end - k));
        if (x >= x0 && x < x1) {
          const from = Math.max(yStart, y0);
          const to = Math.min(yEnd, y1);
          for (let y = from; y < to; y++) out[(y - y0) * cw + (x - x0)] = fill;
        }
        k += yEnd - yStart;
      }
    }
    pos = end;
  }
  ctx.putImageData(pixels, 0, 0);
  return { canvas, x: x0, y: y0 };
}

export function hexToRgb(color: string): [number, number, number] {
  const n = Number.parseInt(color.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
