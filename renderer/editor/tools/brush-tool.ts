// Paint onto (brush) or erase from (eraser) the selected instance's mask; with nothing selected the brush
// makes a new instance of the active class. States:
//   idle (the brush outline follows the pointer) ──press──> painting ──release──> idle (one edit per stroke)
import type { ImagePoint } from '../../../app/geometry/points.js';
import { boundsWithin, encodeCrop } from '../mask-ops.js';
import { StrokeRaster } from '../stroke-raster.js';
import { primaryOf, type Preview, type Tool, type ToolContext, type ToolPointer } from './tool.js';

export type BrushState =
  | { readonly name: 'idle'; readonly at: ImagePoint | null }
  | { readonly name: 'painting'; readonly points: readonly ImagePoint[] };

export class BrushTool implements Tool {
  state: BrushState = { name: 'idle', at: null };
  /** The stroke in progress, painted as the pointer moves, so that the release has little left to do. */
  private raster: StrokeRaster | null = null;

  constructor(private readonly ctx: ToolContext, private readonly erase: boolean) {}

  get name(): 'brush' | 'eraser' {
    return this.erase ? 'eraser' : 'brush';
  }

  pointerDown(p: ToolPointer): void {
    this.state = { name: 'painting', points: [p.image] };
    const { width, height } = this.ctx.document.image;
    this.raster = new StrokeRaster(width, height, this.ctx.brushRadius());
    this.raster.add(p.image);
  }

  pointerMove(p: ToolPointer): void {
    if (this.state.name !== 'painting') {
      this.state = { name: 'idle', at: p.image };
      return;
    }
    this.state = { ...this.state, points: [...this.state.points, p.image] };
    this.raster?.add(p.image);
  }

  pointerUp(p: ToolPointer): void {
    if (this.state.name !== 'painting') return;
    const stroke = [...this.state.points, p.image];
    this.state = { name: 'idle', at: p.image };
    const document = this.ctx.document;
    const { width, height } = document.image;
    const radius = this.ctx.brushRadius();
    let raster = this.raster;
    this.raster = null;
    if (raster && raster.radius === radius && raster.width === width && raster.height === height) raster.add(p.image);
    // Zoomed mid-stroke (the brush is sized on screen) or another image: painted again at the size it has now.
    else raster = StrokeRaster.of(stroke, width, height, radius);
    const { crop, within } = raster.pixels;
    const id = primaryOf(this.ctx.selection);
    const target = id === null ? undefined : document.get(id);
    if (target) {
      // A box-only instance has no mask yet: the brush starts one (the eraser has nothing to remove).
      document.paintMask(target.id, crop, within, this.erase ? 0 : 1);
      return;
    }
    if (this.erase) return;
    const bounds = boundsWithin(crop, [within[0] - crop.x, within[1] - crop.y, within[2], within[3]]);
    if (!bounds) return;
    const bbox = [bounds[0] + crop.x, bounds[1] + crop.y, bounds[2], bounds[3]] as const;
    const mask = encodeCrop(crop, width, height, within);
    this.ctx.withClass((category) => this.ctx.select([this.ctx.document.add({ categoryId: category, bbox, mask })]));
  }

  key(key: string): boolean {
    if (key !== 'Escape' || this.state.name !== 'painting') return false;
    this.cancel();
    return true;
  }

  cancel(): void {
    this.raster = null;
    this.state = { name: 'idle', at: this.state.name === 'idle' ? this.state.at : null };
  }

  preview(): Preview | null {
    const radius = this.ctx.brushRadius();
    if (this.state.name === 'painting') return { kind: 'stroke', points: this.state.points, radius, erase: this.erase };
    return this.state.at ? { kind: 'brush', at: this.state.at, radius, erase: this.erase } : null;
  }

  cursor(): string {
    return 'crosshair';
  }
}
