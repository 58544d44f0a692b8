// "Compare with reviewed" on the canvas: the reviewed instances the compared model missed, outlined, and its extra
// predictions (matching nothing reviewed) dashed, the one under the pointer (which the take key turns into an
// annotation) brighter. Outlines keep their screen width at any zoom. Draws what the session's learning part holds;
// decides nothing, listens to nothing.
import Konva from 'konva';
import { maskToPolygons } from '../../app/geometry/polygon.js';
import { decode } from '../../app/geometry/rle.js';
import type { Disposable } from '../../app/ipc/contract.js';
import type { Bbox, Rle } from '../../app/model/index.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { DisposableStore, everyFrame } from '../ui/dom.js';

const MISSED = '#ff9f1a';
const EXTRA = '#ff4d6d';
const HOVERED = '#ffffff';

export class ComparisonLayer implements Disposable {
  readonly layer = new Konva.Layer({ listening: false });
  private readonly disposables = new DisposableStore();
  private readonly redraw = everyFrame(() => this.draw());
  /** Outlines traced once per mask. */
  private readonly outlines = new Map<string, number[][]>();

  constructor(private readonly session: ReviewSession<unknown>) {
    this.disposables.add(this.redraw);
    this.disposables.add(session.subscribe((topics: ReadonlySet<Topic>) => {
      if (topics.has('learning') || topics.has('annotations') || topics.has('image')) this.redraw.request();
    }));
  }

  dispose(): void {
    this.disposables.dispose();
    this.layer.destroy();
  }

  /** How many of each are drawn, for tests. */
  get drawn(): { missed: number; extras: number } {
    return { missed: this.layer.find('.missed').length, extras: this.layer.find('.extra').length };
  }

  private draw(): void {
    this.layer.destroyChildren();
    const learning = this.session.learning;
    if (!learning.comparison) {
      this.layer.visible(false);
      this.layer.batchDraw();
      return;
    }
    for (const a of learning.missed) this.layer.add(...this.shapes(a.bbox, a.mask, { name: 'missed', stroke: MISSED, dash: null }));
    for (const p of learning.extras) {
      const hovered = p.id === learning.hoveredExtra;
      this.layer.add(...this.shapes(p.bbox, p.mask, { name: 'extra', stroke: hovered ? HOVERED : EXTRA, dash: [6, 4], width: hovered ? 3 : 2 }));
    }
    this.layer.visible(true);
    this.layer.batchDraw();
  }

  private shapes(bbox: Bbox, mask: Rle | null, style: { name: string; stroke: string; dash: number[] | null; width?: number }): Konva.Shape[] {
    const common = { name: style.name, stroke: style.stroke, strokeWidth: style.width ?? 2, strokeScaleEnabled: false, listening: false, perfectDrawEnabled: false, ...(style.dash ? { dash: style.dash } : {}) };
    if (!mask) {
      const [x, y, width, height] = bbox;
      return [new Konva.Rect({ x, y, width, height, ...common })];
    }
    return this.outline(mask).map((points) => new Konva.Line({ points, closed: true, ...common }));
  }

  private outline(mask: Rle): number[][] {
    let traced = this.outlines.get(mask.counts);
    if (!traced) {
      traced = maskToPolygons(decode(mask));
      if (this.outlines.size > 500) this.outlines.clear();
      this.outlines.set(mask.counts, traced);
    }
    return traced;
  }
}
