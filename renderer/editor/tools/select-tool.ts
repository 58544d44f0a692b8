// Select, move and resize. States:
//   idle ──press on a handle──> pointing_handle ──drag──> resizing ──release──> idle (one resize edit)
//   idle ──press elsewhere───> pointing ──drag on the selection or an instance──> translating ──release──> idle (one move edit)
//                                       ──drag on nothing──> marquee ──release──> idle (instances the rectangle meets selected)
//                                       ──release──> idle (a click: select; again at the same spot cycles through overlaps;
//                                                         Shift/Ctrl toggles the instance in the selection)
// Escape during a gesture drops it. Shift held while resizing scales the mask with the box instead of clipping it.
import { clampBbox } from '../../../app/geometry/bbox.js';
import { distance, type ImagePoint } from '../../../app/geometry/points.js';
import type { AnnotationId, Bbox } from '../../../app/model/index.js';
import { handleAt, HANDLE_CURSORS, HANDLE_RADIUS, resizeBox, type Handle } from './handles.js';
import { boxesMeet, hitTest, insideBox } from './hit-test.js';
import { boxBetween, DRAG_DISTANCE, HIT_DISTANCE, primaryOf, type Preview, type PromptMove, type Tool, type ToolContext, type ToolPointer } from './tool.js';

export type SelectState =
  | { readonly name: 'idle' }
  | { readonly name: 'pointing'; readonly down: ToolPointer; readonly hits: readonly AnnotationId[]; readonly onSelection: boolean }
  | { readonly name: 'translating'; readonly down: ToolPointer; readonly ids: readonly AnnotationId[]; readonly to: ImagePoint }
  | { readonly name: 'pointing_handle'; readonly down: ToolPointer; readonly id: AnnotationId; readonly handle: Handle }
  | { readonly name: 'resizing'; readonly id: AnnotationId; readonly handle: Handle; readonly original: Bbox; readonly box: Bbox }
  | { readonly name: 'marquee'; readonly down: ToolPointer; readonly to: ImagePoint; readonly base: readonly AnnotationId[] };

export class SelectTool implements Tool {
  readonly name = 'select';
  state: SelectState = { name: 'idle' };
  /** The last click, so that another at the same spot cycles through what is under it. */
  private lastClick: { at: ImagePoint; hits: readonly AnnotationId[] } | null = null;

  constructor(private readonly ctx: ToolContext) {}

  pointerDown(p: ToolPointer): void {
    const handled = this.handleUnder(p.image);
    if (handled) {
      this.state = { name: 'pointing_handle', down: p, ...handled };
      return;
    }
    const hits = hitTest(this.ctx.document, this.ctx.isPickable, p.image);
    const selected = this.ctx.selection;
    const onSelection = hits.some((id) => selected.includes(id)) ||
      selected.some((id) => {
        const a = this.ctx.document.get(id);
        return !!a && this.ctx.isPickable(a) && insideBox(p.image, a.bbox);
      });
    this.state = { name: 'pointing', down: p, hits, onSelection };
  }

  pointerMove(p: ToolPointer): void {
    const state = this.state;
    switch (state.name) {
      case 'pointing': {
        if (distance(p.screen, state.down.screen) < DRAG_DISTANCE) return;
        const adding = state.down.shift || state.down.mod;
        if (state.onSelection) {
          this.state = { name: 'translating', down: state.down, ids: this.ctx.selection, to: p.image };
        } else if (state.hits[0]) {
          // A drag that starts on an instance picks it up.
          const id = state.hits[0];
          this.ctx.select(adding ? [...this.ctx.selection.filter((s) => s !== id), id] : [id]);
          this.state = { name: 'translating', down: state.down, ids: this.ctx.selection, to: p.image };
        } else {
          this.state = { name: 'marquee', down: state.down, to: p.image, base: adding ? this.ctx.selection : [] };
          this.selectInMarquee();
        }
        return;
      }
      case 'translating':
        this.state = { ...state, to: p.image };
        return;
      case 'pointing_handle': {
        if (distance(p.screen, state.down.screen) < DRAG_DISTANCE) return;
        const original = this.ctx.document.get(state.id)?.bbox;
        if (!original) return this.cancel();
        this.state = { name: 'resizing', id: state.id, handle: state.handle, original, box: resizeBox(original, state.handle, p.image) };
        return;
      }
      case 'resizing':
        this.state = { ...state, box: resizeBox(state.original, state.handle, p.image) };
        return;
      case 'marquee':
        this.state = { ...state, to: p.image };
        this.selectInMarquee();
        return;
      case 'idle':
        return;
    }
  }

  pointerUp(p: ToolPointer): void {
    const state = this.state;
    this.state = { name: 'idle' };
    switch (state.name) {
      case 'pointing':
        return this.click(p, state.hits);
      case 'pointing_handle':
        return this.click(p, hitTest(this.ctx.document, this.ctx.isPickable, p.image));
      case 'translating':
        // Predictions moved onto something else are segmented there by the model's heads, where it can.
        if (this.ctx.prompt?.resegment(this.movedBoxes(state.ids, p.image.x - state.down.image.x, p.image.y - state.down.image.y))) return;
        this.ctx.document.translate(state.ids, p.image.x - state.down.image.x, p.image.y - state.down.image.y);
        return;
      case 'resizing':
        // A resized prediction's mask follows the object in its new box; Shift asks for the mask scaled instead.
        if (!p.shift && this.ctx.prompt?.resegment([{ id: state.id, box: resizeBox(state.original, state.handle, p.image) }])) return;
        this.ctx.document.resize(state.id, resizeBox(state.original, state.handle, p.image), { scaleMask: p.shift });
        return;
      case 'marquee':
      case 'idle':
        return;
    }
  }

  key(key: string): boolean {
    if (key !== 'Escape' || this.state.name === 'idle') return false;
    if (this.state.name === 'marquee') this.ctx.select(this.state.base);
    this.cancel();
    return true;
  }

  cancel(): void {
    this.state = { name: 'idle' };
  }

  preview(): Preview | null {
    const state = this.state;
    switch (state.name) {
      case 'translating': {
        const dx = state.to.x - state.down.image.x;
        const dy = state.to.y - state.down.image.y;
        const boxes = state.ids.flatMap((id) => {
          const a = this.ctx.document.get(id);
          return a ? [[a.bbox[0] + dx, a.bbox[1] + dy, a.bbox[2], a.bbox[3]] as const] : [];
        });
        return { kind: 'transform', boxes, handles: null };
      }
      case 'resizing':
        return { kind: 'transform', boxes: [state.box], handles: state.box };
      case 'marquee':
        return { kind: 'marquee', box: boxBetween(state.down.image, state.to) };
      default: {
        const box = this.handleBox();
        return box ? { kind: 'transform', boxes: [], handles: box } : null;
      }
    }
  }

  cursor(): string {
    const state = this.state;
    if (state.name === 'translating') return 'move';
    if (state.name === 'resizing' || state.name === 'pointing_handle') return HANDLE_CURSORS[state.handle];
    return 'default';
  }

  /** A click: select what is under the pointer, cycling on repeated clicks; with Shift or Ctrl, toggle it. */
  private click(p: ToolPointer, hits: readonly AnnotationId[]): void {
    const selection = this.ctx.selection;
    const top = hits[0];
    if (p.shift || p.mod) {
      if (top) this.ctx.select(selection.includes(top) ? selection.filter((id) => id !== top) : [...selection, top]);
    } else if (!top) {
      this.ctx.select([]);
    } else {
      const last = this.lastClick;
      const sameSpot = last !== null && distance(p.image, last.at) <= HIT_DISTANCE * this.ctx.pixelSize() && last.hits.join() === hits.join();
      const primary = primaryOf(selection);
      const next = sameSpot && primary !== null && hits.includes(primary) ? hits[(hits.indexOf(primary) + 1) % hits.length]! : top;
      this.ctx.select([next]);
    }
    this.lastClick = { at: p.image, hits };
  }

  /** Each instance's box moved by (dx, dy) and kept inside the image. */
  private movedBoxes(ids: readonly AnnotationId[], dx: number, dy: number): PromptMove[] {
    const { width, height } = this.ctx.document.image;
    return ids.flatMap((id) => {
      const a = this.ctx.document.get(id);
      return a ? [{ id, box: clampBbox([a.bbox[0] + dx, a.bbox[1] + dy, a.bbox[2], a.bbox[3]], width, height) }] : [];
    });
  }

  /** The one selected, visible box that shows resize handles; null with none or several selected. */
  private handleBox(): Bbox | null {
    if (this.ctx.selection.length !== 1) return null;
    const a = this.ctx.document.get(this.ctx.selection[0]!);
    return a && this.ctx.isPickable(a) ? a.bbox : null;
  }

  private handleUnder(p: ImagePoint): { id: AnnotationId; handle: Handle } | null {
    const box = this.handleBox();
    const handle = box && handleAt(box, p, (HANDLE_RADIUS + 1) * this.ctx.pixelSize());
    return handle ? { id: this.ctx.selection[0]!, handle } : null;
  }

  private selectInMarquee(): void {
    if (this.state.name !== 'marquee') return;
    const box = boxBetween(this.state.down.image, this.state.to);
    const base = this.state.base;
    const met = this.ctx.document.annotations.filter((a) => this.ctx.isPickable(a) && !base.includes(a.id) && boxesMeet(a.bbox, box)).map((a) => a.id);
    this.ctx.select([...base, ...met]);
  }
}
