// Draw a masked instance of the active class as a polygon. States:
//   idle ──click──> drawing ──click──> drawing (a vertex more)
//                           ──click on the first vertex, or Enter──> idle (one add edit; the new instance is selected)
//                           ──Backspace──> drawing (a vertex fewer; idle when none is left)
//                           ──Escape──> idle (nothing drawn)
import { polygonsToRle } from '../../../app/geometry/polygon.js';
import { distance, imagePoint, type ImagePoint } from '../../../app/geometry/points.js';
import { toBbox } from '../../../app/geometry/rle.js';
import { HIT_DISTANCE, type Preview, type Tool, type ToolContext, type ToolPointer } from './tool.js';

export type PolygonState =
  | { readonly name: 'idle'; readonly cursor: ImagePoint | null }
  | { readonly name: 'drawing'; readonly points: readonly ImagePoint[]; readonly cursor: ImagePoint | null };

export class PolygonTool implements Tool {
  readonly name = 'polygon';
  state: PolygonState = { name: 'idle', cursor: null };

  constructor(private readonly ctx: ToolContext) {}

  pointerDown(p: ToolPointer): void {
    const { width, height } = this.ctx.document.image;
    const at = imagePoint(Math.max(0, Math.min(width, p.image.x)), Math.max(0, Math.min(height, p.image.y)));
    if (this.state.name === 'idle') {
      this.state = { name: 'drawing', points: [at], cursor: p.image };
      return;
    }
    const points = this.state.points;
    if (points.length >= 3 && distance(p.image, points[0]!) <= HIT_DISTANCE * this.ctx.pixelSize()) {
      this.close();
      return;
    }
    this.state = { ...this.state, points: [...points, at] };
  }

  pointerMove(p: ToolPointer): void {
    this.state = { ...this.state, cursor: p.image };
  }

  pointerUp(): void {}

  key(key: string): boolean {
    const state = this.state;
    if (state.name !== 'drawing') return false;
    if (key === 'Enter') {
      if (state.points.length < 3) this.ctx.say('A polygon needs at least 3 points.');
      else this.close();
      return true;
    }
    if (key === 'Backspace' || key === 'Delete') {
      const points = state.points.slice(0, -1);
      this.state = points.length > 0 ? { ...state, points } : { name: 'idle', cursor: state.cursor };
      return true;
    }
    if (key === 'Escape') {
      this.cancel();
      return true;
    }
    return false;
  }

  cancel(): void {
    this.state = { name: 'idle', cursor: this.state.cursor };
  }

  preview(): Preview | null {
    const state = this.state;
    if (state.name === 'idle') return null;
    return { kind: 'polygon', points: state.points, cursor: state.cursor, closable: state.points.length >= 3 };
  }

  cursor(): string {
    return 'crosshair';
  }

  /** Turns the vertices into an instance of the active class (asking for one in a project without classes). */
  private close(): void {
    if (this.state.name !== 'drawing') return;
    const points = this.state.points;
    this.cancel();
    const { width, height } = this.ctx.document.image;
    // Rasterised straight to runs, as pycocotools does: no image-sized buffer.
    const mask = polygonsToRle([points.flatMap((p) => [p.x, p.y])], height, width);
    const bbox = toBbox(mask);
    if (bbox[2] === 0 || bbox[3] === 0) return;
    this.ctx.withClass((category) => this.ctx.select([this.ctx.document.add({ categoryId: category, bbox, mask })]));
  }
}
