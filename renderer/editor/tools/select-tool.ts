// Click to select; clicking again at the same spot cycles through the overlapping instances.
import type { AnnotationId } from '../../../app/model/index.js';
import type { Point } from '../mask-ops.js';
import { hitTest } from './hit-test.js';
import type { Tool, ToolContext } from './tool.js';

export class SelectTool implements Tool {
  readonly name = 'select';
  private last: { p: Point; hits: AnnotationId[] } | null = null;

  constructor(private readonly ctx: ToolContext) {}

  down(p: Point): void {
    const hits = hitTest(this.ctx, p);
    const editor = this.ctx.editor;
    const sameSpot = this.last !== null && Math.hypot(p.x - this.last.p.x, p.y - this.last.p.y) <= this.ctx.tolerance() &&
      this.last.hits.join() === hits.join();
    const current = editor.selection;
    if (hits.length === 0) editor.select(null);
    else if (sameSpot && current !== null && hits.includes(current)) editor.select(hits[(hits.indexOf(current) + 1) % hits.length]!);
    else editor.select(hits[0]!);
    this.last = { p, hits };
  }

  move(_p: Point): void {}
  up(_p: Point): void {}
  key(): boolean {
    return false;
  }
  cancel(): void {
    this.last = null;
  }
  preview(): null {
    return null;
  }
}
