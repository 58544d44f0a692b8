import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, type BitMask } from '../../app/geometry/rle.js';
import { combine, pixelAt, togglesOf } from './rle-ops.js';

const pair = fc.record({ width: fc.integer({ min: 1, max: 9 }), height: fc.integer({ min: 1, max: 8 }) }).chain(({ width, height }) => {
  const bits = fc.uint8Array({ minLength: width * height, maxLength: width * height, max: 1 }).map((data): BitMask => ({ width, height, data }));
  return fc.tuple(bits, bits);
});

describe('masks as toggles', () => {
  it('pixelAt reads each pixel of the runs', () => {
    fc.assert(fc.property(pair, ([m]) => {
      const rle = encode(m);
      for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) expect(pixelAt(rle, x, y)).toBe(m.data[y * m.width + x] === 1);
      expect(pixelAt(rle, -1, 0)).toBe(false);
    }));
  });

  it('combine gives, pixel by pixel, the boolean operation of the two masks, as its RLE encodes it', () => {
    const ops: [string, (a: boolean, b: boolean) => boolean][] = [['or', (a, b) => a || b], ['and', (a, b) => a && b], ['xor', (a, b) => a !== b], ['a and not b', (a, b) => a && !b], ['nor', (a, b) => !a && !b]];
    fc.assert(fc.property(pair, ([a, b]) => {
      for (const [, op] of ops) {
        const expected = { width: a.width, height: a.height, data: a.data.map((v, i) => (op(v === 1, b.data[i] === 1) ? 1 : 0)) };
        const got = combine(encode(a), encode(b), op);
        expect(got).toEqual(encode(expected));
        expect(decode(got).data).toEqual(expected.data);
        // The toggles kept for the result are the ones its counts give.
        expect(togglesOf(got)).toEqual(togglesOf({ ...got }));
      }
    }));
  });
});
