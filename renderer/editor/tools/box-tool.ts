// Drag to draw a box-only instance of the active class.
import type { Point } from '../mask-ops.js';
import type { Preview, Tool, ToolContext } from './tool.js';

export class BoxTool implements Tool {
  readonly name = 'box';
  private start: Point | null = null;
  private end: Point | null = null;

  constructor(private readonly ctx: ToolContext) {}

  down(p: Point): void {
    this.start = p;
    this.end = p;
  }

  move(p: Point): void {
    if (this.start) this.end = p;
  }

  up(p: Point): void {
    const start = this.start;
    this.start = null;
    this.end = null;
    const category = this.ctx.activeCategory();
    if (!start || category === null) return;
    const { width, height } = this.ctx.editor.image;
    const x0 = clamp(Math.min(start.x, p.x), width);
    const y0 = clamp(Math.min(start.y, p.y), height);
    const x1 = clamp(Math.max(start.x, p.x), width);
    const y1 = clamp(Math.max(start.y, p.y), height);
    if (x1 - x0 < 2 || y1 - y0 < 2) return; // a click, not a box
    this.ctx.editor.add({ categoryId: category, bbox: [x0, y0, x1 - x0, y1 - y0], mask: null });
  }

  key(): boolean {
    return false;
  }

  cancel(): void {
    this.start = null;
    this.end = null;
  }

  preview(): Preview | null {
    if (!this.start || !this.end) return null;
    return {
      kind: 'box',
      x: Math.min(this.start.x, this.end.x),
      y: Math.min(this.start.y, this.end.y),
      w: Math.abs(this.end.x - this.start.x),
      h: Math.abs(this.end.y - this.start.y),
    };
  }
}

const clamp = (v: number, max: number) => Math.round(Math.max(0, Math.min(max, v)) * 100) / 100;
