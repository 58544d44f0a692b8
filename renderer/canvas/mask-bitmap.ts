// One bitmap per mask, drawn straight from the RLE into the mask's box (never a full-image buffer), in the class
// colour, with a second bitmap of its edge (the set pixels next to an unset one) for the outline. Runs are
// column-major, so each column's runs are one fillRect each, and columns with the same runs as the one before
// widen its rectangles instead. An edited mask is redrawn in place, only in the columns whose runs changed (its
// bitmap has room around it to grow into), so a brush stroke on a 2-megapixel mask redraws what the stroke
// touched. The composite (mask-composite.ts) gives the fill its opacity and draws the edge opaque.
import type { Bbox } from '../../app/model/index.js';
import { edgeOf, type ColumnRuns, type Intervals } from '../editor/mask-runs.js';

export interface MaskBitmap {
  readonly canvas: HTMLCanvasElement;
  readonly edge: HTMLCanvasElement;
  /** Where the bitmaps' top-left corner sits in the image. */
  readonly x: number;
  readonly y: number;
  readonly runs: ColumnRuns;
  /** Set when the bitmap was redrawn in place: the part (image pixels) that changed. */
  readonly dirty?: Bbox;
}

/** Room (image pixels) left around an edited mask's bitmap, so that the next strokes redraw it in place. */
const ROOM = 64;

/** A new bitmap for the mask's runs, with `room` pixels to spare on every side. */
export function maskBitmap(runs: ColumnRuns, color: string, room = 0): MaskBitmap {
  const x = runs.x0 - room;
  const y = runs.y0 - room;
  const canvas = blank(runs.width + 2 * room, runs.height + 2 * room);
  const edge = blank(canvas.width, canvas.height);
  paintColumns(canvas, color, runs.columns.map((column, c) => ({ at: runs.x0 + c, column })), x, y);
  paintColumns(edge, color, runs.columns.map((_, c) => ({ at: runs.x0 + c, column: edgeAt(runs, runs.x0 + c) })), x, y);
  return { canvas, edge, x, y, runs };
}

/**
 * The bitmap of an edited mask: redrawn in place in the columns whose runs changed when the new runs fit in it,
 * else drawn anew with room to spare.
 */
export function updatedMaskBitmap(previous: MaskBitmap, runs: ColumnRuns, color: string): MaskBitmap {
  const { canvas, edge, x, y } = previous;
  const fits = runs.x0 >= x && runs.y0 >= y && runs.x0 + runs.width <= x + canvas.width && runs.y0 + runs.height <= y + canvas.height;
  if (!fits) return maskBitmap(runs, color, ROOM);
  const before = previous.runs;
  const from = Math.min(before.x0, runs.x0);
  const to = Math.max(before.x0 + before.width, runs.x0 + runs.width);
  const changed: number[] = [];
  for (let at = from; at < to; at++) if (!sameRuns(columnAt(before, at), columnAt(runs, at))) changed.push(at);
  if (changed.length === 0) return { ...previous, runs, dirty: [x, y, 0, 0] };
  const ctx = canvas.getContext('2d')!;
  for (const at of changed) ctx.clearRect(at - x, 0, 1, canvas.height);
  paintColumns(canvas, color, changed.map((at) => ({ at, column: columnAt(runs, at) })), x, y);
  // An edge pixel depends on the columns either side.
  const near = [...new Set(changed.flatMap((at) => [at - 1, at, at + 1]))].filter((at) => at >= x && at < x + canvas.width).sort((a, b) => a - b);
  const edgeCtx = edge.getContext('2d')!;
  for (const at of near) edgeCtx.clearRect(at - x, 0, 1, edge.height);
  paintColumns(edge, color, near.map((at) => ({ at, column: edgeAt(runs, at) })), x, y);
  const left = near[0]!;
  return { canvas, edge, x, y, runs, dirty: [left, y, near.at(-1)! - left + 1, canvas.height] };
}

function columnAt(runs: ColumnRuns, at: number): Intervals {
  return runs.columns[at - runs.x0] ?? [];
}

function edgeAt(runs: ColumnRuns, at: number): Intervals {
  return edgeOf(columnAt(runs, at), columnAt(runs, at - 1), columnAt(runs, at + 1));
}

const sameRuns = (a: Intervals, b: Intervals) => a.length === b.length && a.every((v, i) => v === b[i]);

function blank(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, width);
  canvas.height = Math.max(1, height);
  return canvas;
}

/** Fills the runs of the given image columns (in order); neighbouring columns with the same runs share rectangles. */
function paintColumns(canvas: HTMLCanvasElement, color: string, columns: readonly { at: number; column: Intervals }[], x: number, y: number): void {
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = color;
  let from = 0;
  for (let i = 1; i <= columns.length; i++) {
    const first = columns[from]!;
    if (i < columns.length && columns[i]!.at === columns[i - 1]!.at + 1 && sameRuns(columns[i]!.column, first.column)) continue;
    const runs = first.column;
    for (let k = 0; k < runs.length; k += 2) ctx.fillRect(first.at - x, runs[k]! - y, columns[i - 1]!.at - first.at + 1, runs[k + 1]! - runs[k]!);
    from = i;
  }
}
