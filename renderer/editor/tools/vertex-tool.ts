// Edit the selected instance's outline as polygons: drag a vertex, click an edge to insert one,
// Alt-click (or Delete while hovering) a vertex to remove it. Each finished change is one undo step.
import { maskToPolygons, polygonsToMask } from '../../../app/geometry/polygon.js';
import type { BitMask } from '../../../app/geometry/rle.js';
import type { AnnotationId } from '../../../app/model/index.js';
import { fillHoles, type Point } from '../mask-ops.js';
import type { PointerInfo, Preview, Tool, ToolContext } from './tool.js';

type Ref = { polygon: number; vertex: number };

export class VertexTool implements Tool {
  readonly name = 'vertices';
  private polygons: Point[][] = [];
  /** The instance being edited, and the holes of its mask (outlines cannot carry them; they are kept apart). */
  private source: { id: AnnotationId; counts: string; holes: BitMask } | null = null;
  private dragging: Ref | null = null;
  private hover: Ref | null = null;

  constructor(private readonly ctx: ToolContext) {}

  /** The outline of the selected instance, rebuilt when the selection or its mask changes. */
  outline(): Point[][] {
    const editor = this.ctx.editor;
    const id = editor.selection;
    const a = id === null ? undefined : editor.get(id);
    if (!a?.mask) {
      this.source = null;
      this.polygons = [];
      return this.polygons;
    }
    if (this.source?.id !== a.id || this.source.counts !== a.mask.counts) {
      const mask = editor.mask(a.id)!;
      this.polygons = maskToPolygons(mask, 1).map((flat) => {
        const points: Point[] = [];
        for (let i = 0; i < flat.length; i += 2) points.push({ x: flat[i]!, y: flat[i + 1]! });
        return points;
      });
      this.source = { id: a.id, counts: a.mask.counts, holes: holesOf(mask) };
    }
    return this.polygons;
  }

  down(p: Point, info: PointerInfo = {}): void {
    const polygons = this.outline();
    const vertex = this.vertexAt(p);
    if (vertex) {
      if (info.alt) this.deleteVertex(vertex);
      else this.dragging = vertex;
      return;
    }
    const edge = this.edgeAt(p);
    if (edge) {
      polygons[edge.polygon]!.splice(edge.vertex + 1, 0, p);
      this.dragging = { polygon: edge.polygon, vertex: edge.vertex + 1 };
    }
  }

  move(p: Point): void {
    if (this.dragging) {
      this.polygons[this.dragging.polygon]![this.dragging.vertex] = p;
    } else {
      this.outline();
      this.hover = this.vertexAt(p);
    }
  }

  up(p?: Point): void {
    if (!this.dragging) return;
    if (p) this.polygons[this.dragging.polygon]![this.dragging.vertex] = p;
    this.dragging = null;
    this.commit();
  }

  key(key: string): boolean {
    if ((key === 'Delete' || key === 'Backspace') && this.hover) {
      this.deleteVertex(this.hover);
      this.hover = null;
      return true;
    }
    return false;
  }

  cancel(): void {
    this.dragging = null;
    this.source = null; // rebuild from the stored mask
  }

  preview(): Preview | null {
    const polygons = this.outline();
    if (polygons.length === 0) return null;
    return { kind: 'vertices', polygons, active: this.dragging ?? this.hover };
  }

  private deleteVertex(ref: Ref): void {
    const polygon = this.polygons[ref.polygon]!;
    if (polygon.length <= 3) return;
    polygon.splice(ref.vertex, 1);
    this.commit();
  }

  private commit(): void {
    const source = this.source;
    if (!source) return;
    const { width, height } = this.ctx.editor.image;
    const mask = polygonsToMask(this.polygons.map((poly) => poly.flatMap((q) => [q.x, q.y])), width, height);
    for (let k = 0; k < mask.data.length; k++) if (source.holes.data[k]) mask.data[k] = 0;
    this.ctx.editor.setMask(source.id, mask);
  }

  private vertexAt(p: Point): Ref | null {
    const tolerance = this.ctx.tolerance();
    for (let i = 0; i < this.polygons.length; i++) {
      const poly = this.polygons[i]!;
      for (let j = 0; j < poly.length; j++) {
        if (Math.hypot(poly[j]!.x - p.x, poly[j]!.y - p.y) <= tolerance) return { polygon: i, vertex: j };
      }
    }
    return null;
  }

  /** The edge (from vertex `vertex` to the next) within tolerance of p. */
  private edgeAt(p: Point): Ref | null {
    const tolerance = this.ctx.tolerance();
    for (let i = 0; i < this.polygons.length; i++) {
      const poly = this.polygons[i]!;
      for (let j = 0; j < poly.length; j++) {
        if (distanceToSegment(p, poly[j]!, poly[(j + 1) % poly.length]!) <= tolerance) return { polygon: i, vertex: j };
      }
    }
    return null;
  }
}

function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** The pixels a mask leaves open inside itself. */
function holesOf(mask: BitMask): BitMask {
  const filled = fillHoles(mask);
  const data = new Uint8Array(mask.data.length);
  for (let k = 0; k < data.length; k++) data[k] = filled.data[k] && !mask.data[k] ? 1 : 0;
  return { width: mask.width, height: mask.height, data };
}
