// A mask's runs, column by column, and the edge pixels of a column: the arithmetic canvas/mask-bitmap.ts draws from,
// on runs only (a mask costs what its outline costs, not its area). No DOM.
import { toCounts } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/index.js';

/** Rows [start, end) of one column, flat: [s0, e0, s1, e1, ...], in order and apart. */
export type Intervals = number[];

/** A mask's runs by column, over its extent: columns[c] holds the runs of image column x0 + c. */
export interface ColumnRuns {
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
  readonly columns: readonly Intervals[];
}

/** Each column's runs of set pixels within the mask's extent; null for an empty mask. */
export function columnRuns(rle: Rle): ColumnRuns | null {
  const [h] = rle.size;
  const counts = toCounts(rle);
  const byColumn = new Map<number, Intervals>();
  let y0 = Infinity;
  let y1 = -Infinity;
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const end = pos + counts[j]!;
    for (let k = j % 2 === 1 ? pos : end; k < end; ) {
      const x = Math.floor(k / h);
      const top = k - x * h;
      const bottom = Math.min(h, top + (end - k));
      let column = byColumn.get(x);
      if (!column) byColumn.set(x, (column = []));
      column.push(top, bottom);
      y0 = Math.min(y0, top);
      y1 = Math.max(y1, bottom);
      k += bottom - top;
    }
    pos = end;
  }
  if (byColumn.size === 0) return null;
  const xs = [...byColumn.keys()];
  const x0 = Math.min(...xs);
  const width = Math.max(...xs) - x0 + 1;
  const columns = Array.from({ length: width }, (_, c) => byColumn.get(x0 + c) ?? []);
  return { x0, y0, width, height: y1 - y0, columns };
}

/** The edge pixels of a column: each run's first and last, and those whose left or right neighbour is unset. */
export function edgeOf(column: Intervals, left: Intervals, right: Intervals): Intervals {
  const both = intersect(left, right);
  const out: Intervals = [];
  const push = (s: number, e: number) => {
    if (e <= s) return;
    if (out.length > 0 && out[out.length - 1]! >= s) out[out.length - 1] = Math.max(out[out.length - 1]!, e);
    else out.push(s, e);
  };
  for (let i = 0; i < column.length; i += 2) {
    const s = column[i]!;
    const e = column[i + 1]!;
    push(s, s + 1);
    // Inside the run, what the neighbours on both sides do not cover.
    let at = s + 1;
    for (let k = 0; k < both.length && at < e - 1; k += 2) {
      const [bs, be] = [both[k]!, both[k + 1]!];
      if (be <= at) continue;
      if (bs >= e - 1) break;
      push(at, Math.min(bs, e - 1));
      at = Math.max(at, be);
    }
    push(at, e - 1);
    push(e - 1, e);
  }
  return out;
}

function intersect(a: Intervals, b: Intervals): Intervals {
  const out: Intervals = [];
  for (let i = 0, k = 0; i < a.length && k < b.length; ) {
    const s = Math.max(a[i]!, b[k]!);
    const e = Math.min(a[i + 1]!, b[k + 1]!);
    if (s < e) out.push(s, e);
    if (a[i + 1]! < b[k + 1]!) i += 2;
    else k += 2;
  }
  return out;
}

/**
 * The rows [top, bottom) outside which columns `a` and `b` agree, null when they are the same: how much of a
 * column an edit changed, from its first and last differing run ends.
 */
export function changedRows(a: Intervals, b: Intervals): readonly [number, number] | null {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (i === a.length && i === b.length) return null;
  let k = 1;
  while (k <= a.length && k <= b.length && a[a.length - k] === b[b.length - k]) k++;
  const top = Math.min(a[i] ?? Infinity, b[i] ?? Infinity);
  const bottom = Math.max(a[a.length - k] ?? -Infinity, b[b.length - k] ?? -Infinity);
  return [top, bottom];
}
