// The run arithmetic behind the mask bitmaps (no canvas here): each column's runs and its edge pixels, against
// the pixels themselves.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, type BitMask } from '../../app/geometry/rle.js';
import { changedRows, columnRuns, edgeOf } from './mask-runs.js';

const anyMask = fc.record({ width: fc.integer({ min: 1, max: 12 }), height: fc.integer({ min: 1, max: 10 }) }).chain(({ width, height }) =>
  fc.uint8Array({ minLength: width * height, maxLength: width * height, max: 1 }).map((data): BitMask => ({ width, height, data })));

/** Rows of column x set in the intervals, as a list. */
const rows = (intervals: readonly number[]) => {
  const out: number[] = [];
  for (let i = 0; i < intervals.length; i += 2) for (let y = intervals[i]!; y < intervals[i + 1]!; y++) out.push(y);
  return out;
};

describe('mask bitmap runs', () => {
  it('columnRuns gives each column of the extent its set rows; edgeOf the set pixels with a 4-neighbour unset or off the image', () => {
    fc.assert(fc.property(anyMask, (mask) => {
      const { width: w, height: h, data } = mask;
      const set = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] === 1;
      const runs = columnRuns(encode(mask));
      if (!data.includes(1)) {
        expect(runs).toBeNull();
        return;
      }
      const { x0, y0, width, height, columns } = runs!;
      const xs = [...Array(w).keys()].filter((x) => [...Array(h).keys()].some((y) => set(x, y)));
      const ys = [...Array(h).keys()].filter((y) => [...Array(w).keys()].some((x) => set(x, y)));
      expect([x0, y0, width, height]).toEqual([xs[0], ys[0], xs.at(-1)! - xs[0]! + 1, ys.at(-1)! - ys[0]! + 1]);
      columns.forEach((column, c) => {
        const x = x0 + c;
        expect(rows(column)).toEqual([...Array(h).keys()].filter((y) => set(x, y)));
        const edge = edgeOf(column, columns[c - 1] ?? [], columns[c + 1] ?? []);
        expect(rows(edge)).toEqual([...Array(h).keys()].filter((y) => set(x, y) && (!set(x - 1, y) || !set(x + 1, y) || !set(x, y - 1) || !set(x, y + 1))));
      });
    }));
  });

  it('changedRows bounds exactly the rows where two columns differ', () => {
    const column = fc.uniqueArray(fc.nat(20), { maxLength: 8 }).map((ends) => ends.sort((p, q) => p - q)).map((ends) => ends.slice(0, ends.length - (ends.length % 2)));
    fc.assert(fc.property(column, column, (a, b) => {
      const inA = new Set(rows(a));
      const inB = new Set(rows(b));
      const differing = [...Array(21).keys()].filter((y) => inA.has(y) !== inB.has(y));
      const range = changedRows(a, b);
      expect(range).toEqual(differing.length === 0 ? null : [differing[0], differing.at(-1)! + 1]);
    }));
  });
});
