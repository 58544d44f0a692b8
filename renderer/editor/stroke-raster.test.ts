import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imagePoint, type ImagePoint } from '../../app/geometry/points.js';
import { encode, type BitMask } from '../../app/geometry/rle.js';
import { emptyMask, encodeCrop, paintDisc } from './mask-ops.js';
import { StrokeRaster } from './stroke-raster.js';

/** The stroke as its definition says: discs every radius / 3 along each segment, stamped on the whole image. */
function reference(points: readonly ImagePoint[], width: number, height: number, radius: number): BitMask {
  const mask = emptyMask(width, height);
  const step = Math.max(0.5, radius / 3);
  points.forEach((p, i) => {
    const prev = i === 0 ? p : points[i - 1]!;
    const n = Math.max(1, Math.ceil(Math.hypot(p.x - prev.x, p.y - prev.y) / step));
    for (let k = i === 0 ? 0 : 1; k <= n; k++) paintDisc(mask, prev.x + ((p.x - prev.x) * k) / n, prev.y + ((p.y - prev.y) * k) / n, radius, 1);
  });
  return mask;
}

// Images larger than the room a crop grows by, so that strokes outgrow their first crop.
const stroke = fc.record({ width: fc.integer({ min: 1, max: 600 }), height: fc.integer({ min: 1, max: 400 }) }).chain(({ width, height }) => fc.record({
  width: fc.constant(width),
  height: fc.constant(height),
  radius: fc.double({ min: 0.2, max: 30, noNaN: true }),
  // Points may leave the image: what lies outside is clipped.
  points: fc.array(fc.tuple(fc.double({ min: -40, max: width + 40, noNaN: true }), fc.double({ min: -40, max: height + 40, noNaN: true })), { minLength: 1, maxLength: 12 })
    .map((ps) => ps.map(([x, y]) => imagePoint(x, y))),
}));

describe('a brush stroke painted as the pointer moves', () => {
  it('covers exactly the pixels of the discs along the whole stroke, however its crop grew', () => {
    fc.assert(fc.property(stroke, ({ width, height, radius, points }) => {
      const raster = new StrokeRaster(width, height, radius);
      for (const p of points) raster.add(p);
      const { crop, within } = raster.pixels;
      const expected = encode(reference(points, width, height, radius));
      expect(encodeCrop(crop, width, height)).toEqual(expected);
      expect(encodeCrop(crop, width, height, within)).toEqual(expected);
      expect(StrokeRaster.of(points, width, height, radius).pixels.within).toEqual(within);
    }));
  });

  it('grows its crop on the side the stroke moves to, with room, instead of at every point', () => {
    const raster = new StrokeRaster(1000, 1000, 5);
    raster.add(imagePoint(500, 500));
    const first = raster.pixels.crop;
    raster.add(imagePoint(520, 500));
    expect(raster.pixels.crop).toBe(first);
    for (let x = 520; x < 900; x += 10) raster.add(imagePoint(x, 500));
    const { crop } = raster.pixels;
    expect(crop.x).toBe(first.x);
    expect(crop.height).toBe(first.height);
    expect(crop.x + crop.width).toBeGreaterThan(900);
  });
});
