import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, type BitMask } from '../../app/geometry/rle.js';
import { boxRle, combine, pixelAt } from './rle-ops.js';

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
      }
    }));
  });

  it('boxRle sets exactly the box', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 8 }), fc.nat(9), fc.nat(8), fc.nat(9), fc.nat(8), (width, height, x, y, w, h) => {
      const box = { x: Math.min(x, width), y: Math.min(y, height), width: Math.min(w, width - Math.min(x, width)), height: Math.min(h, height - Math.min(y, height)) };
      const data = new Uint8Array(width * height);
      for (let r = box.y; r < box.y + box.height; r++) for (let c = box.x; c < box.x + box.width; c++) data[r * width + c] = 1;
      expect(boxRle(box, width, height)).toEqual(encode({ width, height, data }));
    }));
  });
});
