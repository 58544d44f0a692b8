// All visible masks drawn into one image-sized canvas (at most ~24 MP: big images get a scaled-down one), so a
// frame of pan or zoom draws one bitmap instead of hundreds. When the scene changes, only the region of the masks
// that changed is drawn again (a brush stroke on a 6000x4000 image redraws the instance, not the image).
import type { AnnotationId } from '../../app/model/index.js';
import type { MaskBitmap } from './mask-bitmap.js';

export interface CompositeEntry {
  readonly id: AnnotationId;
  readonly bitmap: MaskBitmap;
  /** Opacity of the fill. */
  readonly alpha: number;
  /** Whether the edge is drawn, opaque, over the fill. */
  readonly edges: boolean;
}

/** Largest composite, in pixels. */
const MAX_PIXELS = 24e6;

type Region = readonly [x0: number, y0: number, x1: number, y1: number];

export class MaskComposite {
  readonly canvas = document.createElement('canvas');
  /** Composite pixels per image pixel. */
  private scale = 1;
  private entries: readonly CompositeEntry[] = [];

  /** A new image: an empty composite of its size (scaled down past MAX_PIXELS). */
  reset(width: number, height: number): void {
    this.scale = Math.min(1, Math.sqrt(MAX_PIXELS / Math.max(1, width * height)));
    this.canvas.width = Math.max(1, Math.round(width * this.scale));
    this.canvas.height = Math.max(1, Math.round(height * this.scale));
    this.entries = [];
  }

  /** Draws `next` (in order, later on top); false when nothing changed. Only the changed masks' region is redrawn when it is small. */
  update(next: readonly CompositeEntry[]): boolean {
    const dirty = this.changedRegion(this.entries, next);
    this.entries = next;
    if (dirty === null) return false;
    this.draw(dirty === 'all' ? [0, 0, this.canvas.width, this.canvas.height] : dirty);
    return true;
  }

  /** What must be drawn again: null (nothing), a region in composite pixels, or 'all'. */
  private changedRegion(previous: readonly CompositeEntry[], next: readonly CompositeEntry[]): Region | 'all' | null {
    const before = new Map(previous.map((e) => [e.id, e]));
    const after = new Set(next.map((e) => e.id));
    let region: Region | null = null;
    const include = (r: Region) => {
      region = region === null ? r : [Math.min(region[0], r[0]), Math.min(region[1], r[1]), Math.max(region[2], r[2]), Math.max(region[3], r[3])];
    };
    const add = (e: CompositeEntry) => include(this.extentOf(e));
    const s = this.scale;
    const addBox = (x: number, y: number, w: number, h: number) => include([Math.floor(x * s) - 1, Math.floor(y * s) - 1, Math.ceil((x + w) * s) + 1, Math.ceil((y + h) * s) + 1]);
    const kept: AnnotationId[] = [];
    for (const e of next) {
      const old = before.get(e.id);
      if (old && old.bitmap === e.bitmap && old.alpha === e.alpha && old.edges === e.edges) {
        kept.push(e.id);
        continue;
      }
      if (old && e.bitmap.change?.from === old.bitmap.id && old.alpha === e.alpha && old.edges === e.edges) {
        // Made from the bitmap drawn last time: only the part that changed.
        const [dx, dy, dw, dh] = e.bitmap.change.dirty;
        if (dw > 0 && dh > 0) addBox(dx, dy, dw, dh);
        continue;
      }
      if (old) add(old);
      add(e);
    }
    for (const e of previous) if (!after.has(e.id)) add(e);
    // Masks that did not change but now stack in another order: draw everything.
    const keptBefore = previous.filter((e) => kept.includes(e.id)).map((e) => e.id);
    if (keptBefore.some((id, i) => id !== kept[i])) return 'all';
    if (region === null) return null;
    const [x0, y0, x1, y1] = region as Region;
    return (x1 - x0) * (y1 - y0) > 0.5 * this.canvas.width * this.canvas.height ? 'all' : region;
  }

  private extentOf({ bitmap }: CompositeEntry): Region {
    const s = this.scale;
    const [x, y, w, h] = bitmap.bounds;
    return [Math.floor(x * s) - 1, Math.floor(y * s) - 1, Math.ceil((x + w) * s) + 1, Math.ceil((y + h) * s) + 1];
  }

  private draw([x0, y0, x1, y1]: Region): void {
    const ctx = this.canvas.getContext('2d')!;
    const s = this.scale;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0, x1 - x0, y1 - y0);
    ctx.clip();
    ctx.clearRect(x0, y0, x1 - x0, y1 - y0);
    ctx.imageSmoothingEnabled = false;
    for (const e of this.entries) {
      const [ex0, ey0, ex1, ey1] = this.extentOf(e);
      if (ex1 < x0 || ex0 > x1 || ey1 < y0 || ey0 > y1) continue;
      for (const { canvas, edge, x, y } of e.bitmap.tiles) {
        // Whole composite pixels, at least one: neighbouring tiles of a scaled-down composite meet without a seam.
        const [tx0, ty0] = [Math.round(x * s), Math.round(y * s)];
        const tx1 = Math.max(tx0 + 1, Math.round((x + canvas.width) * s));
        const ty1 = Math.max(ty0 + 1, Math.round((y + canvas.height) * s));
        if (tx1 < x0 || tx0 > x1 || ty1 < y0 || ty0 > y1) continue;
        ctx.globalAlpha = e.alpha;
        ctx.drawImage(canvas, tx0, ty0, tx1 - tx0, ty1 - ty0);
        if (e.edges) {
          ctx.globalAlpha = 1;
          ctx.drawImage(edge, tx0, ty0, tx1 - tx0, ty1 - ty0);
        }
      }
    }
    ctx.restore();
  }
}
