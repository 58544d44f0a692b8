// Paint onto (brush) or erase from (eraser) the selected instance's mask; one stroke is one undo step.
// A brush stroke with nothing selected makes a new instance of the active class.
import { emptyMask, copyMask, paintStroke, type Point } from '../mask-ops.js';
import { maskBounds } from '../../../app/geometry/rle.js';
import type { Preview, Tool, ToolContext } from './tool.js';

export class BrushTool implements Tool {
  private stroke: Point[] | null = null;
  private pointer: Point | null = null;

  constructor(private readonly ctx: ToolContext, private readonly erase: boolean) {}

  get name(): 'brush' | 'eraser' {
    return this.erase ? 'eraser' : 'brush';
  }

  down(p: Point): void {
    this.stroke = [p];
  }

  move(p: Point): void {
    this.pointer = p;
    this.stroke?.push(p);
  }

  up(p: Point): void {
    const stroke = this.stroke;
    this.stroke = null;
    if (!stroke) return;
    stroke.push(p);
    const editor = this.ctx.editor;
    const { width, height } = editor.image;
    const id = editor.selection;
    const target = id === null ? undefined : editor.get(id);
    if (target) {
      const base = editor.mask(target.id);
      // A box-only instance has no mask yet: the brush starts one (the eraser has nothing to remove).
      if (!base && this.erase) return;
      const mask = base ? copyMask(base) : emptyMask(width, height);
      paintStroke(mask, stroke, this.ctx.brushRadius(), this.erase ? 0 : 1);
      editor.setMask(target.id, mask);
      return;
    }
    const category = this.ctx.activeCategory();
    if (this.erase || category === null) return;
    const mask = emptyMask(width, height);
    paintStroke(mask, stroke, this.ctx.brushRadius(), 1);
    const bbox = maskBounds(mask);
    if (bbox) editor.add({ categoryId: category, bbox, mask });
  }

  key(): boolean {
    return false;
  }

  cancel(): void {
    this.stroke = null;
  }

  preview(): Preview | null {
    const radius = this.ctx.brushRadius();
    if (this.stroke) return { kind: 'stroke', points: [...this.stroke], radius, erase: this.erase };
    return this.pointer ? { kind: 'brush', at: this.pointer, radius, erase: this.erase } : null;
  }
}
