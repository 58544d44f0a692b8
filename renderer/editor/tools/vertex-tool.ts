// Edit the selected instance's outline as polygons. States:
//   idle (the vertex under the pointer is marked) ──press on a vertex──> dragging ──release──> idle (one mask edit)
//                                                 ──press on an edge──> dragging a new vertex there
//                                                 ──Alt-press on a vertex, or Delete over one──> idle (the vertex removed: one edit)
// The outline is traced from the mask's own box, sampled from its runs at about one cell per screen pixel (every
// pixel once zoomed in to 1:1 or closer), so entering the tool on a large instance of a 24-megapixel image costs
// what the screen shows, not the image. An edit changes only the pixels between the outline before and after it:
// the rest of the mask, its holes and every detail finer than the outline included, stays exactly as it was, and
// the whole edit is done on runs (rle-ops.ts), never on an image-sized buffer.
import { maskToPolygons, polygonsToRle } from '../../../app/geometry/polygon.js';
import { distance, imagePoint, type ImagePoint } from '../../../app/geometry/points.js';
import type { AnnotationId } from '../../../app/model/index.js';
import { sampleWithin } from '../mask-ops.js';
import { combine } from '../rle-ops.js';
import { maskExtent } from './hit-test.js';
import { HIT_DISTANCE, primaryOf, type Preview, type Tool, type ToolContext, type ToolPointer, type VertexRef } from './tool.js';

export type VertexState =
  | { readonly name: 'idle'; readonly hover: VertexRef | null }
  | { readonly name: 'dragging'; readonly ref: VertexRef; readonly polygons: readonly (readonly ImagePoint[])[] };

/** The outline of one mask version, traced every `step` image pixels. */
interface Outline {
  readonly id: AnnotationId;
  readonly counts: string;
  readonly step: number;
  readonly polygons: readonly (readonly ImagePoint[])[];
}

export class VertexTool implements Tool {
  readonly name = 'vertices';
  state: VertexState = { name: 'idle', hover: null };
  private cached: Outline | null = null;

  constructor(private readonly ctx: ToolContext) {}

  /** The selected instance's outline, traced again when the selection or its mask changes. */
  outline(): readonly (readonly ImagePoint[])[] {
    return this.source()?.polygons ?? [];
  }

  pointerDown(p: ToolPointer): void {
    const source = this.source();
    if (!source) return;
    const vertex = vertexAt(source.polygons, p.image, this.tolerance());
    if (vertex) {
      if (p.alt) this.commit(source, withoutVertex(source.polygons, vertex));
      else this.state = { name: 'dragging', ref: vertex, polygons: source.polygons };
      return;
    }
    const edge = edgeAt(source.polygons, p.image, this.tolerance());
    if (edge) {
      const polygons = source.polygons.map((poly, i) => (i === edge.polygon ? [...poly.slice(0, edge.vertex + 1), p.image, ...poly.slice(edge.vertex + 1)] : poly));
      this.state = { name: 'dragging', ref: { polygon: edge.polygon, vertex: edge.vertex + 1 }, polygons };
    }
  }

  pointerMove(p: ToolPointer): void {
    const state = this.state;
    if (state.name === 'dragging') {
      this.state = { ...state, polygons: movedVertex(state.polygons, state.ref, p.image) };
      return;
    }
    const source = this.source();
    this.state = { name: 'idle', hover: source ? vertexAt(source.polygons, p.image, this.tolerance()) : null };
  }

  pointerUp(p: ToolPointer): void {
    const state = this.state;
    if (state.name !== 'dragging') return;
    this.state = { name: 'idle', hover: state.ref };
    const source = this.source();
    if (source) this.commit(source, movedVertex(state.polygons, state.ref, p.image));
  }

  key(key: string): boolean {
    const state = this.state;
    if (key === 'Escape' && state.name === 'dragging') {
      this.cancel();
      return true;
    }
    if ((key === 'Delete' || key === 'Backspace') && state.name === 'idle' && state.hover) {
      const source = this.source();
      if (source && source.polygons[state.hover.polygon]) this.commit(source, withoutVertex(source.polygons, state.hover));
      this.state = { name: 'idle', hover: null };
      return true;
    }
    return false;
  }

  cancel(): void {
    this.state = { name: 'idle', hover: null };
  }

  preview(): Preview | null {
    const state = this.state;
    const polygons = state.name === 'dragging' ? state.polygons : this.outline();
    if (polygons.length === 0) return null;
    return { kind: 'vertices', polygons, active: state.name === 'dragging' ? state.ref : state.hover };
  }

  cursor(): string {
    return this.state.name === 'dragging' ? 'grabbing' : 'default';
  }

  private tolerance(): number {
    return HIT_DISTANCE * this.ctx.pixelSize();
  }

  private source(): Outline | null {
    const id = primaryOf(this.ctx.selection);
    const a = id === null ? undefined : this.ctx.document.get(id);
    if (!a?.mask) return (this.cached = null);
    // About one traced cell per screen pixel: finer would only add vertices nobody can see or take.
    const step = Math.max(1, Math.floor(this.ctx.pixelSize()));
    const cached = this.cached;
    // An outline the person has just edited is kept as they left it, whatever the zoom.
    if (cached?.id === a.id && cached.counts === a.mask.counts && (cached.step === step || cached.step === 0)) return cached;
    // A cell of background all round, so that outlines along the box's edge are traced like any other.
    const [x, y, w, h] = maskExtent(a.mask);
    const cells = sampleWithin(a.mask, [x - step, y - step, w + 2 * step, h + 2 * step], step);
    const polygons = maskToPolygons(cells, 1).map((flat) => {
      const points: ImagePoint[] = [];
      for (let i = 0; i < flat.length; i += 2) points.push(imagePoint(cells.x + flat[i]! * step, cells.y + flat[i + 1]! * step));
      return points;
    });
    return (this.cached = { id: a.id, counts: a.mask.counts, step, polygons });
  }

  /**
   * The mask with the pixels between the outline before and after the edit set as the new outline has them: where
   * the two outlines rasterise alike, the mask is left as it was.
   */
  private commit(source: Outline, polygons: readonly (readonly ImagePoint[])[]): void {
    const document = this.ctx.document;
    const mask = document.get(source.id)?.mask;
    if (!mask) return;
    const { width, height } = document.image;
    const raster = (polys: readonly (readonly ImagePoint[])[]) => polygonsToRle(polys.map((poly) => poly.flatMap((q) => [q.x, q.y])), height, width);
    const before = raster(source.polygons);
    const after = raster(polygons);
    const changed = combine(before, after, (b, a) => b !== a);
    const kept = combine(mask, changed, (m, c) => m && !c);
    const added = combine(after, changed, (a, c) => a && c);
    document.setRle(source.id, combine(kept, added, (k, a) => k || a));
    // The outline stays as the person left it (a new trace would move every vertex a little).
    const counts = document.get(source.id)?.mask?.counts;
    if (counts !== undefined) this.cached = { id: source.id, counts, step: 0, polygons };
  }
}

function movedVertex(polygons: readonly (readonly ImagePoint[])[], ref: VertexRef, to: ImagePoint): ImagePoint[][] {
  return polygons.map((poly, i) => (i === ref.polygon ? poly.map((q, j) => (j === ref.vertex ? to : q)) : [...poly]));
}

/** The polygons without one vertex; a polygon keeps at least 3. */
function withoutVertex(polygons: readonly (readonly ImagePoint[])[], ref: VertexRef): readonly (readonly ImagePoint[])[] {
  const polygon = polygons[ref.polygon]!;
  if (polygon.length <= 3) return polygons;
  return polygons.map((poly, i) => (i === ref.polygon ? poly.filter((_, j) => j !== ref.vertex) : poly));
}

/** The vertex nearest to p within tolerance. */
function vertexAt(polygons: readonly (readonly ImagePoint[])[], p: ImagePoint, tolerance: number): VertexRef | null {
  let best: VertexRef | null = null;
  let nearest = tolerance;
  for (let i = 0; i < polygons.length; i++) {
    const poly = polygons[i]!;
    for (let j = 0; j < poly.length; j++) {
      const d = distance(poly[j]!, p);
      if (d <= nearest) {
        nearest = d;
        best = { polygon: i, vertex: j };
      }
    }
  }
  return best;
}

/** The edge (from vertex `vertex` to the next) within tolerance of p. */
function edgeAt(polygons: readonly (readonly ImagePoint[])[], p: ImagePoint, tolerance: number): VertexRef | null {
  for (let i = 0; i < polygons.length; i++) {
    const poly = polygons[i]!;
    for (let j = 0; j < poly.length; j++) {
      if (distanceToSegment(p, poly[j]!, poly[(j + 1) % poly.length]!) <= tolerance) return { polygon: i, vertex: j };
    }
  }
  return null;
}

function distanceToSegment(p: ImagePoint, a: ImagePoint, b: ImagePoint): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}
