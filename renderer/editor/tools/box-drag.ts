// A box dragged on the image, shared by the tools that start from one (box, box prompt). States:
//   idle ──press──> pointing ──drag──> drawing ──release──> idle (finish(box), the box clamped to the image)
//                            ──release──> idle (a click gives no box)
// Escape drops the box being drawn.
import type { Bbox } from '../../../app/model/index.js';
import { clampBbox } from '../../../app/geometry/bbox.js';
import { distance, type ImagePoint } from '../../../app/geometry/points.js';
import { boxBetween, DRAG_DISTANCE, type Preview, type Tool, type ToolContext, type ToolName, type ToolPointer } from './tool.js';

export type BoxDragState =
  | { readonly name: 'idle' }
  | { readonly name: 'pointing'; readonly down: ToolPointer }
  | { readonly name: 'drawing'; readonly from: ImagePoint; readonly to: ImagePoint };

/** Smallest side, in image pixels, of a box worth keeping. */
const MIN_SIDE = 2;

export abstract class BoxDragTool implements Tool {
  abstract readonly name: ToolName;
  state: BoxDragState = { name: 'idle' };

  constructor(protected readonly ctx: ToolContext) {}

  /** What the tool does with a released box (inside the image, both sides at least MIN_SIDE). */
  protected abstract finish(box: Bbox): void;

  abstract cursor(): string;

  pointerDown(p: ToolPointer): void {
    this.state = { name: 'pointing', down: p };
  }

  pointerMove(p: ToolPointer): void {
    const state = this.state;
    if (state.name === 'pointing' && distance(p.screen, state.down.screen) >= DRAG_DISTANCE) this.state = { name: 'drawing', from: state.down.image, to: p.image };
    else if (state.name === 'drawing') this.state = { ...state, to: p.image };
  }

  pointerUp(p: ToolPointer): void {
    const state = this.state;
    this.state = { name: 'idle' };
    if (state.name !== 'drawing') return;
    const { width, height } = this.ctx.document.image;
    const box = clampBbox(boxBetween(state.from, p.image), width, height);
    if (box[2] < MIN_SIDE || box[3] < MIN_SIDE) return;
    this.finish(box);
  }

  key(key: string): boolean {
    if (key !== 'Escape' || this.state.name === 'idle') return false;
    this.cancel();
    return true;
  }

  cancel(): void {
    this.state = { name: 'idle' };
  }

  preview(): Preview | null {
    return this.state.name === 'drawing' ? { kind: 'box', box: boxBetween(this.state.from, this.state.to) } : null;
  }
}
