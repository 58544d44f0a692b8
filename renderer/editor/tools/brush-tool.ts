// Paint onto (brush) or erase from (eraser) the selected instance's mask; with nothing selected the brush
// makes a new instance of the active class. States:
//   idle (the brush outline follows the pointer) ──press──> painting ──release──> idle (one edit per stroke)
import { imagePoint, type ImagePoint } from '../../../app/geometry/points.js';
import { boundsWithin, emptyCrop, encodeCrop, paintStroke, strokeBox, type Crop } from '../mask-ops.js';
import { primaryOf, type Preview, type Tool, type ToolContext, type ToolPointer } from './tool.js';

export type BrushState =
  | { readonly name: 'idle'; readonly at: ImagePoint | null }
  | { readonly name: 'painting'; readonly points: readonly ImagePoint[] };

export class BrushTool implements Tool {
  state: BrushState = { name: 'idle', at: null };

  constructor(private readonly ctx: ToolContext, private readonly erase: boolean) {}

  get name(): 'brush' | 'eraser' {
    return this.erase ? 'eraser' : 'brush';
  }

  pointerDown(p: ToolPointer): void {
    this.state = { name: 'painting', points: [p.image] };
  }

  pointerMove(p: ToolPointer): void {
    this.state = this.state.name === 'painting' ? { ...this.state, points: [...this.state.points, p.image] } : { name: 'idle', at: p.image };
  }

  pointerUp(p: ToolPointer): void {
    if (this.state.name !== 'painting') return;
    const stroke = [...this.state.points, p.image];
    this.state = { name: 'idle', at: p.image };
    const document = this.ctx.document;
    const radius = this.ctx.brushRadius();
    const value = this.erase ? 0 : 1;
    const region = strokeBox(stroke, radius);
    const id = primaryOf(this.ctx.selection);
    const target = id === null ? undefined : document.get(id);
    // The stroke in the crop's own pixels.
    const strokeIn = (crop: Crop) => stroke.map((q) => imagePoint(q.x - crop.x, q.y - crop.y));
    if (target) {
      // A box-only instance has no mask yet: the brush starts one (the eraser has nothing to remove).
      if (!target.mask && this.erase) return;
      document.paintMask(target.id, region, (crop) => paintStroke(crop, strokeIn(crop), radius, value));
      return;
    }
    if (this.erase) return;
    const { width, height } = document.image;
    const crop = emptyCrop(region, width, height);
    paintStroke(crop, strokeIn(crop), radius, 1);
    const bounds = boundsWithin(crop, [0, 0, crop.width, crop.height]);
    if (!bounds) return;
    const bbox = [bounds[0] + crop.x, bounds[1] + crop.y, bounds[2], bounds[3]] as const;
    const mask = encodeCrop(crop, width, height);
    this.ctx.withClass((category) => this.ctx.select([this.ctx.document.add({ categoryId: category, bbox, mask })]));
  }

  key(key: string): boolean {
    if (key !== 'Escape' || this.state.name !== 'painting') return false;
    this.cancel();
    return true;
  }

  cancel(): void {
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
