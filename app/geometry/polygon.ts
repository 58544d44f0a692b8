/**
 * COCO polygons <-> masks.
 *
 * A COCO polygon is a flat list [x1, y1, x2, y2, ...] in image pixels, where pixel (x, y) covers the square from
 * (x, y) to (x + 1, y + 1). An object may have several polygons; its mask is their union.
 *
 * polygon -> mask rasterises exactly as pycocotools does (frPyObjects, cocoapi's rleFrPoly: the outline is walked
 * at 5x resolution and the pixel columns are filled between its crossings), so a COCO polygon imports to the very
 * mask, and RLE string, that pycocotools would make of it.
 *
 * mask -> polygons traces the outlines with marching squares (d3-contour) and simplifies them (simplify-js);
 * faithfulPolygons, which COCO export uses, simplifies less where simplifying would cost a small shape its form.
 * Holes: COCO polygons cannot express them, so maskToPolygons keeps only outer outlines and a hole is filled when
 * a mask is exported as polygons (a ring becomes a disc). Export as RLE keeps holes exactly.
 */
import { contours } from 'd3-contour';
import simplify from 'simplify-js';
import type { Rle } from '../model/types.js';
import { imagePoint, type ImagePoint } from './points.js';
import { compressCounts, decode, iou, maskBounds, merge, type BitMask } from './rle.js';

/** Flat [x1, y1, x2, y2, ...] in image pixels. */
export type Polygon = number[];

/** A polygon that cannot be rasterised: odd length, fewer than 3 points, or coordinates that are not numbers. */
export class PolygonError extends Error {
  override name = 'PolygonError';
}

/** Throws PolygonError unless the polygon has an even number of finite coordinates and at least 3 points. */
export function checkPolygon(poly: readonly unknown[]): asserts poly is Polygon {
  if (poly.length % 2 !== 0) throw new PolygonError(`polygon has an odd number of coordinates (${poly.length})`);
  if (poly.length < 6) throw new PolygonError(`polygon has ${poly.length / 2} points, needs at least 3`);
  const bad = poly.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad >= 0) throw new PolygonError(`polygon coordinate ${bad} is not a finite number (${String(poly[bad])})`);
}

const SCALE = 5;

/** cocoapi's rleFrPoly: the runs of one polygon's mask, column-major. */
function polygonCounts(xy: readonly number[], h: number, w: number): number[] {
  const k = xy.length / 2;
  // C's (int) cast truncates toward zero.
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) {
    x.push(Math.trunc(SCALE * xy[2 * j]! + 0.5));
    y.push(Math.trunc(SCALE * xy[2 * j + 1]! + 0.5));
  }
  x.push(x[0]!);
  y.push(y[0]!);

  // Every upsampled point along the outline.
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    if (dx >= dy) {
      const s = (ye - ys) / dx;
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      const s = (xe - xs) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }

  // Where the outline crosses a pixel column's centre line, back at 1x: the pixel index where a run toggles.
  const toggles: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    const xd = ((u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1) + 0.5) / SCALE - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = (Math.min(v[j]!, v[j - 1]!) + 0.5) / SCALE - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    toggles.push(xd * h + Math.ceil(yd));
  }
  toggles.push(h * w);
  const sorted = Float64Array.from(toggles).sort();

  // Differences between toggles are the runs; a 0 difference means two toggles cancel, so the runs either side
  // of it join.
  const runs: number[] = [];
  let previous = 0;
  for (const t of sorted) {
    runs.push(t - previous);
    previous = t;
  }
  const counts = [runs[0]!];
  for (let j = 1; j < runs.length; ) {
    if (runs[j]! > 0) {
      counts.push(runs[j++]!);
    } else {
      j++;
      if (j < runs.length) counts[counts.length - 1]! += runs[j++]!;
    }
  }
  return counts;
}

/**
 * COCO polygons -> RLE, exactly as pycocotools' frPyObjects followed by merge (a single polygon is not merged,
 * as in pycocotools). No polygons gives an empty mask. Throws PolygonError for a malformed polygon.
 */
export function polygonsToRle(polys: readonly Polygon[], height: number, width: number): Rle {
  if (polys.length === 0) return { size: [height, width], counts: compressCounts([height * width]) };
  const parts = polys.map((poly): Rle => {
    checkPolygon(poly);
    return { size: [height, width], counts: compressCounts(polygonCounts(poly, height, width)) };
  });
  return merge(parts);
}

/** COCO polygons -> row-major bit mask (note: width before height here, like BitMask). */
export function polygonsToMask(polys: readonly Polygon[], width: number, height: number): BitMask {
  return decode(polygonsToRle(polys, height, width));
}

/**
 * Outer outlines of a mask as COCO polygons, simplified to within about `tolerance` pixels of the traced outline
 * (0 keeps every marching-squares vertex). Holes are dropped (see the module header); outlines that simplify to
 * fewer than 3 points are dropped. An empty mask gives [].
 */
export function maskToPolygons(mask: BitMask, tolerance = 1): Polygon[] {
  return outlinesToPolygons(traceOutlines(mask), tolerance, mask);
}

/**
 * maskToPolygons at the largest of `tolerance`, half of it, a quarter... whose polygons still rasterise to IoU >=
 * `minIou` with the unsimplified outline, else unsimplified. A pixel of simplification is a large share of a small
 * shape, so small shapes keep more vertices rather than lose their form; a speck that would simplify away entirely
 * keeps its traced outline. The mask is traced once.
 */
export function faithfulPolygons(mask: BitMask, tolerance = 1, minIou = 0.95): Polygon[] {
  const outlines = traceOutlines(mask);
  const exact = outlinesToPolygons(outlines, 0, mask);
  if (exact.length === 0) return exact;
  const reference = polygonsToRle(exact, mask.height, mask.width);
  for (let t = tolerance; t >= MIN_TOLERANCE; t /= 2) {
    const polygons = outlinesToPolygons(outlines, t, mask);
    if (polygons.length > 0 && iou(polygonsToRle(polygons, mask.height, mask.width), reference) >= minIou) return polygons;
  }
  return exact;
}

/** The outer outlines of the set pixels, as closed rings (last point = first) in image pixels. */
function traceOutlines(mask: BitMask): ImagePoint[][] {
  const traced = traceContours(mask);
  if (traced === null) return [];
  const { coordinates, x0, y0 } = traced;
  return coordinates.flatMap(([outer]) => (outer ? [outer.map(([x, y]) => imagePoint(x! + x0, y! + y0))] : []));
}

/**
 * True when the mask encloses background: pixels outside the mask that cannot reach the image border (or the
 * outside of the mask's box) through 4-connected background. Diagonal steps between two mask pixels do not let
 * background through, the usual pairing of 8-connected objects with 4-connected background.
 */
export function hasHoles(mask: BitMask): boolean {
  const box = maskBounds(mask);
  if (box === null) return false;
  const [x0, y0, w, h] = box;
  // The box with a 1-pixel border of background all round, from which the outside is flooded.
  const W = w + 2;
  const H = h + 2;
  const inside = (x: number, y: number) => mask.data[(y + y0 - 1) * mask.width + x + x0 - 1] !== 0;
  const seen = new Uint8Array(W * H);
  const stack = [0];
  seen[0] = 1;
  let reached = 1;
  while (stack.length > 0) {
    const p = stack.pop()!;
    const x = p % W;
    const y = (p - x) / W;
    for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]] as const) {
      if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
      const q = ny * W + nx;
      if (seen[q]) continue;
      const border = nx === 0 || ny === 0 || nx === W - 1 || ny === H - 1;
      if (!border && inside(nx, ny)) continue;
      seen[q] = 1;
      reached++;
      stack.push(q);
    }
  }
  let set = 0;
  for (let y = 1; y < H - 1; y++) for (let x = 1; x < W - 1; x++) if (inside(x, y)) set++;
  return reached + set < W * H;
}

/** Marching-squares contours of the mask's bounding box: each polygon is [outer ring, ...hole rings]. */
function traceContours(mask: BitMask): { coordinates: number[][][][]; x0: number; y0: number } | null {
  const box = maskBounds(mask);
  if (box === null) return null;
  // Trace only the mask's bounding box: d3-contour closes outlines along the grid's border, which is where the
  // pixels' outer edges are anyway.
  const [x0, y0, cw, ch] = box;
  const values: number[] = new Array(cw * ch);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) values[y * cw + x] = mask.data[(y + y0) * mask.width + x + x0] ? 1 : 0;
  }
  const [outline] = contours().size([cw, ch]).thresholds([0.5])(values);
  return { coordinates: outline?.coordinates ?? [], x0, y0 };
}

function outlinesToPolygons(outlines: readonly ImagePoint[][], tolerance: number, image: { width: number; height: number }): Polygon[] {
  const polygons: Polygon[] = [];
  for (const ring of outlines) {
    // COCO polygons are implicitly closed.
    const points = tolerance > 0 ? simplifyRing(ring, tolerance) : ring.slice(0, -1);
    if (points.length < 3) continue;
    // Centred edges along the image border may lean a little outside it.
    polygons.push(points.flatMap((p) => [clamp(p.x, image.width), clamp(p.y, image.height)]));
  }
  return polygons;
}

/** Below this the simplified outline keeps every corner of the traced one (see polygon.test.ts). */
const MIN_TOLERANCE = 0.25;

/** A direction or a displacement in image pixels (not a position). */
interface Vector {
  readonly x: number;
  readonly y: number;
}

/**
 * Douglas-Peucker (simplify-js) on a closed ring, then each kept edge moved sideways to the middle of the points
 * it replaced. Plain Douglas-Peucker keeps only points of the outline, so on convex stretches every edge cuts
 * inside it by up to the tolerance and the shape shrinks; centred edges stay within half the tolerance on either
 * side, which keeps the pixels whose centres were inside (those are half a pixel from the traced outline).
 * Returns the ring open (no repeated first point).
 */
function simplifyRing(ring: readonly ImagePoint[], tolerance: number): ImagePoint[] {
  const index = new Map<object, number>(ring.map((p, i) => [p, i]));
  // simplify-js returns the very point objects it kept, so their indices give the stretches each edge replaced.
  const kept = simplify(ring.slice(), tolerance, true).map((p) => index.get(p)!);
  const last = ring.length - 1;
  if (kept[kept.length - 1] !== last) kept.push(last);
  if (kept.length < 4) return kept.slice(0, -1).map((i) => ring[i]!);
  const edges = kept.slice(0, -1).map((from, e) => centredEdge(ring, from, kept[e + 1]!));
  return edges.map((edge, e) => corner(edges[(e + edges.length - 1) % edges.length]!, edge, ring[kept[e]!]!, tolerance));
}

interface Edge {
  /** A point on the moved edge's line, its unit direction, and how far it moved along the unit normal. */
  origin: ImagePoint;
  direction: Vector;
  shift: Vector;
}

function centredEdge(ring: readonly ImagePoint[], from: number, to: number): Edge {
  const a = ring[from]!;
  const b = ring[to]!;
  const length = Math.hypot(b.x - a.x, b.y - a.y);
  const direction = { x: (b.x - a.x) / length, y: (b.y - a.y) / length };
  const normal = { x: -direction.y, y: direction.x };
  let low = 0;
  let high = 0;
  for (let i = from + 1; i < to; i++) {
    const side = (ring[i]!.x - a.x) * normal.x + (ring[i]!.y - a.y) * normal.y;
    low = Math.min(low, side);
    high = Math.max(high, side);
  }
  const offset = (low + high) / 2;
  const shift = { x: normal.x * offset, y: normal.y * offset };
  return { origin: imagePoint(a.x + shift.x, a.y + shift.y), direction, shift };
}

/** Where two consecutive moved edges meet; near-parallel or very sharp corners just average the two moves. */
function corner(before: Edge, after: Edge, vertex: ImagePoint, tolerance: number): ImagePoint {
  const cross = before.direction.x * after.direction.y - before.direction.y * after.direction.x;
  if (Math.abs(cross) > 1e-3) {
    const dx = after.origin.x - before.origin.x;
    const dy = after.origin.y - before.origin.y;
    const along = (dx * after.direction.y - dy * after.direction.x) / cross;
    const meet = imagePoint(before.origin.x + along * before.direction.x, before.origin.y + along * before.direction.y);
    if (Math.hypot(meet.x - vertex.x, meet.y - vertex.y) <= tolerance) return meet;
  }
  return imagePoint(vertex.x + (before.shift.x + after.shift.x) / 2, vertex.y + (before.shift.y + after.shift.y) / 2);
}

function clamp(v: number, max: number): number {
  return Math.min(Math.max(v, 0), max);
}
