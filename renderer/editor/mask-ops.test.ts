import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, maskBounds, type BitMask } from '../../app/geometry/rle.js';
import type { Bbox } from '../../app/model/index.js';
import { H, rectMask, W } from './fixtures.test-support.js';
import { boundsWithin, countSet, cropMask, decodeWithin, emptyMask, encodeCrop, encodeWithin, fillHoles, paintDisc, sampleWithin, unionBox } from './mask-ops.js';

/** A random mask whose set pixels lie in a random box, and a larger box around that one. */
const boxedMask = fc
  .record({ width: fc.integer({ min: 1, max: 14 }), height: fc.integer({ min: 1, max: 12 }) })
  .chain(({ width, height }) => fc.record({
    width: fc.constant(width),
    height: fc.constant(height),
    box: fc.tuple(fc.integer({ min: 0, max: width - 1 }), fc.integer({ min: 0, max: height - 1 }), fc.integer({ min: 0, max: width }), fc.integer({ min: 0, max: height })),
    bits: fc.uint8Array({ minLength: width * height, maxLength: width * height, max: 1 }),
    grow: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
  }))
  .map(({ width, height, box: [bx, by, bw, bh], bits, grow: [l, t, r, b] }) => {
    const data = new Uint8Array(width * height);
    for (let y = by; y < Math.min(height, by + bh); y++) for (let x = bx; x < Math.min(width, bx + bw); x++) data[y * width + x] = bits[y * width + x]!;
    const within: Bbox = [bx - l, by - t, bw + l + r, bh + t + b];
    return { mask: { width, height, data } as BitMask, within };
  });

describe('mask ops', () => {
  it('fillHoles fills enclosed gaps and leaves the outside alone', () => {
    const ring = rectMask(5, 5, 15, 15);
    for (let y = 8; y < 12; y++) for (let x = 8; x < 12; x++) ring.data[y * W + x] = 0;
    const filled = fillHoles(ring);
    expect(countSet(filled)).toBe(100);
    expect(filled.data[0]).toBe(0);
  });

  it('paintDisc clips at the image border', () => {
    const m = emptyMask(W, H);
    paintDisc(m, 0, 0, 3, 1);
    expect(m.data[0]).toBe(1);
    expect(countSet(m)).toBeGreaterThan(4);
  });

  it('encodeWithin and boundsWithin, reading only a box around the set pixels, give what encode and maskBounds give', () => {
    fc.assert(fc.property(boxedMask, ({ mask, within }) => {
      expect(encodeWithin(mask, within)).toEqual(encode(mask));
      expect(boundsWithin(mask, within)).toEqual(maskBounds(mask));
    }));
  });

  it('decodeWithin decodes exactly the crop cropMask cuts from the decoded mask; encodeCrop puts it back', () => {
    fc.assert(fc.property(boxedMask, ({ mask, within }) => {
      const crop = decodeWithin(encode(mask), within);
      expect(crop).toEqual(cropMask(mask, within));
      expect(encodeCrop(crop, mask.width, mask.height)).toEqual(encode(mask));
    }));
  });

  it('sampleWithin takes every step-th pixel, the one nearest each cell centre; at step 1 it is decodeWithin', () => {
    fc.assert(fc.property(boxedMask, fc.integer({ min: 1, max: 4 }), ({ mask, within }, step) => {
      const rle = encode(mask);
      const sampled = sampleWithin(rle, within, step);
      const crop = decodeWithin(rle, within);
      expect([sampled.x, sampled.y, sampled.width, sampled.height]).toEqual([crop.x, crop.y, Math.ceil(crop.width / step), Math.ceil(crop.height / step)]);
      for (let j = 0; j < sampled.height; j++) {
        for (let i = 0; i < sampled.width; i++) {
          const x = Math.min(crop.width - 1, i * step + Math.floor(step / 2));
          const y = Math.min(crop.height - 1, j * step + Math.floor(step / 2));
          expect(sampled.data[j * sampled.width + i]).toBe(crop.data[y * crop.width + x]);
        }
      }
    }));
  });

  it('cropMask cuts out a box (clipped to the image) and says where it sits; unionBox spans two boxes', () => {
    const crop = cropMask(rectMask(5, 5, 15, 15), [3, 4, 100, 3]);
    expect([crop.x, crop.y, crop.width, crop.height]).toEqual([3, 4, W - 3, 3]);
    expect(countSet(crop)).toBe(20);
    expect(unionBox([0, 0, 2, 2], [5, 1, 1, 4])).toEqual([0, 0, 6, 5]);
  });
});
