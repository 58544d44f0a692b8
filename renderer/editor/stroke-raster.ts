// The pixels a brush stroke covers, painted as the pointer moves: each new point stamps discs along the segment
// from the one before, close enough to leave no gaps, into a crop that grows with the stroke. The release then
// only has its last segment to paint, and the stroke is ready to be combined with a mask (BENCHMARKS.md, review
// canvas: a stroke onto a 2-megapixel mask).
import type { ImagePoint } from '../../app/geometry/points.js';
import type { Bbox } from '../../app/model/index.js';
import { paintDisc, strokeBox, unionBox, type Crop } from './mask-ops.js';

/** Least room (pixels) a growing crop adds on a side, so that a stroke moving on does not copy it at every point. */
const GROWTH = 64;

export class StrokeRaster {
  private crop: Crop;
  private last: ImagePoint | null = null;
  /** The box (image pixels) holding every painted pixel; null before the first point. */
  private painted: Bbox | null = null;

  /** A stroke of `radius` on a `width` x `height` image. */
  constructor(readonly width: number, readonly height: number, readonly radius: number) {
    this.crop = { width: 0, height: 0, data: new Uint8Array(0), x: 0, y: 0 };
  }

  /** The stroke through `points`, painted at once. */
  static of(points: readonly ImagePoint[], width: number, height: number, radius: number): StrokeRaster {
    const raster = new StrokeRaster(width, height, radius);
    for (const p of points) raster.add(p);
    return raster;
  }

  /** Paints from the previous point to `p` (the first point: one disc). */
  add(p: ImagePoint): void {
    const from = this.last ?? p;
    const box = strokeBox([from, p], this.radius);
    this.cover(box);
    this.painted = this.painted ? unionBox(this.painted, box) : box;
    const step = Math.max(0.5, this.radius / 3);
    const n = Math.max(1, Math.ceil(Math.hypot(p.x - from.x, p.y - from.y) / step));
    for (let k = this.last ? 1 : 0; k <= n; k++) {
      const t = k / n;
      paintDisc(this.crop, from.x + (p.x - from.x) * t, from.y + (p.y - from.y) * t, this.radius, 1);
    }
    this.last = p;
  }

  /** The painted pixels (1) in a crop holding them all; `within` (image pixels) holds every one of them. */
  get pixels(): { readonly crop: Crop; readonly within: Bbox } {
    return { crop: this.crop, within: this.painted ?? [0, 0, 0, 0] };
  }

  /** Makes the crop cover the box (clipped to the image), growing it with room to spare and keeping its pixels. */
  private cover([bx, by, bw, bh]: Bbox): void {
    const old = this.crop;
    const x0 = Math.max(0, Math.floor(bx));
    const y0 = Math.max(0, Math.floor(by));
    const x1 = Math.min(this.width, Math.ceil(bx + bw));
    const y1 = Math.min(this.height, Math.ceil(by + bh));
    if (x1 <= x0 || y1 <= y0) return;
    const empty = old.width === 0 || old.height === 0;
    if (!empty && x0 >= old.x && y0 >= old.y && x1 <= old.x + old.width && y1 <= old.y + old.height) return;
    // Grown with room on the sides that need it, at least half the crop's size: a long stroke copies it a few times.
    const roomX = Math.max(GROWTH, old.width >> 1);
    const roomY = Math.max(GROWTH, old.height >> 1);
    const nx0 = empty || x0 < old.x ? Math.max(0, x0 - roomX) : old.x;
    const ny0 = empty || y0 < old.y ? Math.max(0, y0 - roomY) : old.y;
    const nx1 = empty || x1 > old.x + old.width ? Math.min(this.width, x1 + roomX) : old.x + old.width;
    const ny1 = empty || y1 > old.y + old.height ? Math.min(this.height, y1 + roomY) : old.y + old.height;
    const width = Math.max(0, nx1 - nx0);
    const height = Math.max(0, ny1 - ny0);
    const data = new Uint8Array(width * height);
    for (let r = 0; r < old.height; r++) data.set(old.data.subarray(r * old.width, (r + 1) * old.width), (old.y - ny0 + r) * width + (old.x - nx0));
    this.crop = { width, height, data, x: nx0, y: ny0 };
  }
}
