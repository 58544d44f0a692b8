// Click vertices; click the first vertex (or Enter) to close into a new masked instance.
// Backspace drops the last vertex, Escape the whole polygon.
import { polygonsToMask } from '../../../app/geometry/polygon.js';
import type { Point } from '../mask-ops.js';
import { maskBounds } from '../../../app/geometry/rle.js';
import type { Preview, Tool, ToolContext } from './tool.js';

export class PolygonTool implements Tool {
  readonly name = 'polygon';
  private points: Point[] = [];
  private cursor: Point | null = null;

  constructor(private readonly ctx: ToolContext) {}

  get vertexCount(): number {
    return this.points.length;
  }

  down(p: Point): void {
    const first = this.points[0];
    if (first && this.points.length >= 3 && Math.hypot(p.x - first.x, p.y - first.y) <= this.ctx.tolerance()) {
      this.close();
      return;
    }
    const { width, height } = this.ctx.editor.image;
    this.points.push({ x: Math.max(0, Math.min(width, p.x)), y: Math.max(0, Math.min(height, p.y)) });
  }

  move(p: Point): void {
    this.cursor = p;
  }

  up(_p: Point): void {}

  key(key: string): boolean {
    if (key === 'Enter') return this.close();
    if (key === 'Backspace' && this.points.length > 0) {
      this.points.pop();
      return true;
    }
    if (key === 'Escape' && this.points.length > 0) {
      this.cancel();
      return true;
    }
    return false;
  }

  /** Turns the vertices into an instance of the active class; false when there are fewer than 3. */
  close(): boolean {
    const category = this.ctx.activeCategory();
    if (this.points.length < 3 || category === null) return false;
    const { width, height } = this.ctx.editor.image;
    const mask = polygonsToMask([this.points.flatMap((p) => [p.x, p.y])], width, height);
    this.points = [];
    const bbox = maskBounds(mask);
    if (bbox) this.ctx.editor.add({ categoryId: category, bbox, mask });
    return true;
  }

  cancel(): void {
    this.points = [];
  }

  preview(): Preview | null {
    if (this.points.length === 0) return null;
    return { kind: 'polygon', points: [...this.points], cursor: this.cursor, closable: this.points.length >= 3 };
  }
}
