// Draw a box-only instance of the active class: a dragged box (./box-drag.ts) becomes one add edit, selected.
import type { Bbox } from '../../../app/model/index.js';
import { BoxDragTool } from './box-drag.js';

export class BoxTool extends BoxDragTool {
  readonly name = 'box';

  protected finish(box: Bbox): void {
    const [x, y, w, h] = box.map((v) => Math.round(v * 100) / 100) as [number, number, number, number];
    this.ctx.withClass((category) => this.ctx.select([this.ctx.document.add({ categoryId: category, bbox: [x, y, w, h], mask: null })]));
  }

  cursor(): string {
    return 'crosshair';
  }
}
