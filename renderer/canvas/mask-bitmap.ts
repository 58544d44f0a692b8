// One bitmap per mask, drawn straight from the RLE (never a full-image buffer), in the class colour, with a second
// bitmap of its edge (the set pixels next to an unset one) for the outline. Runs are column-major, so each column's
// runs are one fillRect each, and columns with the same runs as the one before widen its rectangles instead.
// A mask's bitmap is cut along a grid of CELL-pixel cells (from the mask's corner when it was first drawn, so a
// mask smaller than a cell is one tile) into tiles, each no larger than what the mask covers in its cell: an edit redraws only the rectangle of columns and rows whose runs changed, in the tiles it crosses,
// and a mask growing past its tiles adds tiles or enlarges one tile within its cell. So a brush stroke on a
// 2-megapixel mask costs what the stroke touched, the first stroke included (no bitmap is ever drawn anew or
// copied whole). The composite (mask-composite.ts) gives the fill its opacity and draws the edge opaque.
import type { Bbox } from '../../app/model/index.js';
import { changedRows, edgeOf, type ColumnRuns, type Intervals } from '../editor/mask-runs.js';

/** Side (image pixels) of the grid cells a mask's bitmap is cut into. */
const CELL = 512;
/** Room a tile made by an edit takes (within its cell) past what it must hold, so that the next edits grow into it without a copy. */
const TILE_ROOM = 32;

/** The part of a mask's bitmap in one grid cell; (x, y) is where its top-left corner sits in the image. */
export interface MaskTile {
  readonly canvas: HTMLCanvasElement;
  readonly edge: HTMLCanvasElement;
  readonly x: number;
  readonly y: number;
}

export interface MaskBitmap {
  /** Tells bitmaps apart: a bitmap made from another names it in `change`. */
  readonly id: number;
  /** Where the grid of cells starts (image pixels). */
  readonly grid: readonly [number, number];
  readonly tiles: readonly MaskTile[];
  /** The box (image pixels) around every tile. */
  readonly bounds: Bbox;
  readonly runs: ColumnRuns;
  /** Set when made from bitmap `from` of the same mask: only `dirty` (image pixels) differs from it. */
  readonly change?: { readonly from: number; readonly dirty: Bbox };
}

/** [x0, y0, x1, y1) in image pixels. */
type Rect = readonly [number, number, number, number];

let lastId = 0;

/** The bitmap of a mask's runs. */
export function maskBitmap(runs: ColumnRuns, color: string): MaskBitmap {
  const extent: Rect = [runs.x0, runs.y0, runs.x0 + runs.width, runs.y0 + runs.height];
  const grid = [runs.x0, runs.y0] as const;
  const tiles = new Map<number, MaskTile>();
  paint(tiles, grid, runs, color, extent, extent, 0);
  return { id: ++lastId, grid, tiles: [...tiles.values()], bounds: boundsOf(tiles), runs };
}

/** The bitmap of an edited mask: its tiles redrawn in place in the rectangle of columns and rows whose runs changed. */
export function updatedMaskBitmap(previous: MaskBitmap, runs: ColumnRuns, color: string): MaskBitmap {
  const before = previous.runs;
  let left = Infinity;
  let right = -Infinity;
  let top = Infinity;
  let bottom = -Infinity;
  for (let at = Math.min(before.x0, runs.x0), to = Math.max(before.x0 + before.width, runs.x0 + runs.width); at < to; at++) {
    const rows = changedRows(columnAt(before, at), columnAt(runs, at));
    if (!rows) continue;
    left = Math.min(left, at);
    right = Math.max(right, at);
    top = Math.min(top, rows[0]);
    bottom = Math.max(bottom, rows[1]);
  }
  if (left > right) return { ...previous, id: ++lastId, runs, change: { from: previous.id, dirty: [0, 0, 0, 0] } };
  const { grid } = previous;
  const tiles = new Map(previous.tiles.map((t) => [cellOf(grid, t.x, t.y), t]));
  // An edge pixel depends on its column's neighbours in the same row, and on the run it ends.
  const edges: Rect = [left - 1, top - 1, right + 2, bottom + 1];
  paint(tiles, grid, runs, color, [left, top, right + 1, bottom], edges, TILE_ROOM);
  const dirty: Bbox = [edges[0], edges[1], edges[2] - edges[0], edges[3] - edges[1]];
  return { id: ++lastId, grid, tiles: [...tiles.values()], bounds: boundsOf(tiles), runs, change: { from: previous.id, dirty } };
}

/**
 * Draws the runs again in `fill` and their edge in `edge` (rectangles in image pixels), in every cell those
 * cross: tiles are made (with `room`) or enlarged (in `tiles`, by cell) where the mask now has pixels outside them.
 */
function paint(tiles: Map<number, MaskTile>, [gx, gy]: readonly [number, number], runs: ColumnRuns, color: string, fill: Rect, edge: Rect, room: number): void {
  const extent: Rect = [runs.x0, runs.y0, runs.x0 + runs.width, runs.y0 + runs.height];
  const all = union(fill, edge);
  // Where the mask can have pixels: tiles are only made or enlarged to cover those.
  const reach = intersect(all, extent);
  for (let cy = Math.floor((all[1] - gy) / CELL); gy + cy * CELL < all[3]; cy++) {
    for (let cx = Math.floor((all[0] - gx) / CELL); gx + cx * CELL < all[2]; cx++) {
      const cell: Rect = [gx + cx * CELL, gy + cy * CELL, gx + (cx + 1) * CELL, gy + (cy + 1) * CELL];
      const key = cellOf([gx, gy], cell[0], cell[1]);
      const need = reach && intersect(reach, cell);
      let tile = tiles.get(key);
      if (need && (!tile || !contains(rectOf(tile), need))) tiles.set(key, (tile = enlarged(tile, need, cell, room)));
      if (!tile) continue;
      const area = rectOf(tile);
      redraw(tile.canvas, tile, intersect(fill, area), color, (at) => columnAt(runs, at));
      redraw(tile.edge, tile, intersect(edge, area), color, (at) => edgeAt(runs, at));
    }
  }
}

/**
 * A tile covering `need` as well: a new tile takes `room` to spare around it, an enlarged one its whole cell (so
 * it is copied at most once); what the old one held is copied over.
 */
function enlarged(tile: MaskTile | undefined, need: Rect, cell: Rect, room: number): MaskTile {
  const [x0, y0, x1, y1] = tile ? cell : intersect([need[0] - room, need[1] - room, need[2] + room, need[3] + room], cell)!;
  const copy = (from: HTMLCanvasElement | undefined) => {
    const to = blank(x1 - x0, y1 - y0);
    if (from && tile) to.getContext('2d')!.drawImage(from, tile.x - x0, tile.y - y0);
    return to;
  };
  return { canvas: copy(tile?.canvas), edge: copy(tile?.edge), x: x0, y: y0 };
}

/** Clears `rect` (image pixels, inside the tile) of the canvas and fills the runs `column` gives there. */
function redraw(canvas: HTMLCanvasElement, at: { readonly x: number; readonly y: number }, rect: Rect | null, color: string, column: (x: number) => Intervals): void {
  if (!rect) return;
  const [x0, y0, x1, y1] = rect;
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(x0 - at.x, y0 - at.y, x1 - x0, y1 - y0);
  ctx.fillStyle = color;
  // Neighbouring columns with the same runs share rectangles.
  let from = x0;
  let runs = column(x0);
  for (let x = x0 + 1; x <= x1; x++) {
    const next = x < x1 ? column(x) : null;
    if (next && sameRuns(next, runs)) continue;
    for (let k = 0; k < runs.length; k += 2) {
      const s = Math.max(runs[k]!, y0);
      const e = Math.min(runs[k + 1]!, y1);
      if (e > s) ctx.fillRect(from - at.x, s - at.y, x - from, e - s);
    }
    from = x;
    if (next) runs = next;
  }
}

function columnAt(runs: ColumnRuns, at: number): Intervals {
  return runs.columns[at - runs.x0] ?? [];
}

function edgeAt(runs: ColumnRuns, at: number): Intervals {
  return edgeOf(columnAt(runs, at), columnAt(runs, at - 1), columnAt(runs, at + 1));
}

const sameRuns = (a: Intervals, b: Intervals) => a.length === b.length && a.every((v, i) => v === b[i]);

/** A cell's key, from a point in it (image pixels): its column and row in the grid starting at `grid`. */
const cellOf = ([gx, gy]: readonly [number, number], x: number, y: number) => (Math.floor((y - gy) / CELL) + 4096) * 8192 + Math.floor((x - gx) / CELL) + 4096;

const rectOf = (t: MaskTile): Rect => [t.x, t.y, t.x + t.canvas.width, t.y + t.canvas.height];

function intersect(a: Rect, b: Rect): Rect | null {
  const r: Rect = [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
  return r[2] > r[0] && r[3] > r[1] ? r : null;
}

const union = (a: Rect, b: Rect): Rect => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

const contains = (outer: Rect, inner: Rect) => inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3];

function boundsOf(tiles: ReadonlyMap<number, MaskTile>): Bbox {
  const all = [...tiles.values()].map(rectOf).reduce(union);
  return [all[0], all[1], all[2] - all[0], all[3] - all[1]];
}

function blank(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, width);
  canvas.height = Math.max(1, height);
  return canvas;
}
