// Draw a box-only instance of the active class. States:
//   idle ──press──> pointing ──drag──> drawing ──release──> idle (one add edit; the new box is selected)
//                            ──release──> idle (a click draws nothing)
import type { ImagePoint } from '../../../app/geometry/points.js';
import { distance } from '../../../app/geometry/points.js';
import { clampBbox } from '../../../app/geometry/bbox.js';
import { boxBetween, DRAG_DISTANCE, type Preview, type Tool, type ToolContext, type ToolPointer } from './tool.js';

export type BoxState =
  | { readonly name: 'idle' }
  | { readonly name: 'pointing'; readonly down: ToolPointer }
  | { readonly name: 'drawing'; readonly from: ImagePoint; readonly to: ImagePoint };

/** Smallest side, in image pixels, of a box worth keeping. */
const MIN_SIDE = 2;

export class BoxTool implements Tool {
  readonly name = 'box';
  state: BoxState = { name: 'idle' };

  constructor(private readonly ctx: ToolContext) {}

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
    const [x, y, w, h] = clampBbox(boxBetween(state.from, p.image), width, height).map((v) => Math.round(v * 100) / 100);
    if (w! < MIN_SIDE || h! < MIN_SIDE) return;
    this.ctx.withClass((category) => this.ctx.select([this.ctx.document.add({ categoryId: category, bbox: [x!, y!, w!, h!], mask: null })]));
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

  cursor(): string {
    return 'crosshair';
  }
}
