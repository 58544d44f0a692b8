import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bboxArea, bboxFromPoints, bboxIou, clampBbox, type Bbox } from './bbox.js';
import { imagePoint } from './points.js';

const coordinate = fc.double({ min: -100, max: 200, noNaN: true });
const size = fc.double({ min: 0, max: 150, noNaN: true });
const box: fc.Arbitrary<Bbox> = fc.tuple(coordinate, coordinate, size, size);

describe('bboxIou', () => {
  it('is intersection over union', () => {
    expect(bboxIou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150);
    expect(bboxIou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
  });

  it('is 0 for boxes that only touch or are apart, and for empty boxes', () => {
    expect(bboxIou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(bboxIou([0, 0, 10, 10], [30, 30, 1, 1])).toBe(0);
    expect(bboxIou([0, 0, 0, 0], [0, 0, 0, 0])).toBe(0);
  });

  it('stays within 0 and 1 where rounding could push it over', () => {
    // (100 + 1e-14) - 100 rounds to 1.42e-14, more than the width.
    expect(bboxIou([100, 0, 1e-14, 1], [100, 0, 1e-14, 1])).toBe(1);
    expect(bboxIou([100, 0, 1e-14, 1], [99, 0, 2, 1])).toBe(1e-14 / 2);
    // Sides so small that their product is 0.
    expect(bboxIou([0, 0, 5e-324, 5e-324], [0, 0, 5e-324, 5e-324])).toBe(0);
  });

  it('is symmetric and between 0 and 1', () => {
    fc.assert(
      fc.property(box, box, (a, b) => {
        const v = bboxIou(a, b);
        expect(v).toBe(bboxIou(b, a));
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('clampBbox', () => {
  it('keeps the part inside the image', () => {
    expect(clampBbox([-5, 2, 20, 30], 10, 20)).toEqual([0, 2, 10, 18]);
    expect(clampBbox([1, 1, 2, 2], 10, 10)).toEqual([1, 1, 2, 2]);
  });

  it('flattens boxes wholly outside onto the border', () => {
    expect(clampBbox([15, -30, 5, 5], 10, 20)).toEqual([10, 0, 0, 0]);
  });

  it('always lies inside the image and never grows', () => {
    fc.assert(
      fc.property(box, (b) => {
        const [x, y, w, h] = clampBbox(b, 100, 80);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(x + w).toBeLessThanOrEqual(100);
        expect(y + h).toBeLessThanOrEqual(80);
        expect(w * h).toBeLessThanOrEqual(bboxArea(b) + 1e-9);
      }),
    );
  });
});

describe('bboxFromPoints and bboxArea', () => {
  it('is the tightest box around the points', () => {
    expect(bboxFromPoints([imagePoint(3, 4), imagePoint(-1, 9), imagePoint(2, 5)])).toEqual([-1, 4, 4, 5]);
    expect(bboxFromPoints([])).toEqual([0, 0, 0, 0]);
  });

  it('contains every point, and each side touches one', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -500, max: 500 }), fc.integer({ min: -500, max: 500 })).map(([x, y]) => imagePoint(x, y)), { minLength: 1 }), (points) => {
        const [x, y, w, h] = bboxFromPoints(points);
        expect(points.every((p) => p.x >= x && p.x <= x + w && p.y >= y && p.y <= y + h)).toBe(true);
        expect(points.some((p) => p.x === x)).toBe(true);
        expect(points.some((p) => p.y === y + h)).toBe(true);
      }),
    );
  });

  it('area is w x h, and 0 for negative sizes', () => {
    expect(bboxArea([1, 2, 3, 4])).toBe(12);
    expect(bboxArea([0, 0, -3, 4])).toBe(0);
  });
});
