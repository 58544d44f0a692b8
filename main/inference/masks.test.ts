import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { area, decode, encode, toBbox } from '../../app/geometry/rle.js';
import { imageMask, pasteBoxMask, pastedMaskBounds, regionToRle, type RegionMask } from './masks.js';

function embed(region: RegionMask, width: number, height: number): Uint8Array {
  const full = new Uint8Array(width * height);
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) full[(region.y0 + y) * width + region.x0 + x] = region.data[y * region.width + x]!;
  }
  return full;
}

const regionInImage = fc
  .record({ width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }) })
  .chain(({ width, height }) =>
    fc
      .record({ x0: fc.integer({ min: 0, max: width - 1 }), y0: fc.integer({ min: 0, max: height - 1 }) })
      .chain(({ x0, y0 }) =>
        fc.record({ w: fc.integer({ min: 0, max: width - x0 }), h: fc.integer({ min: 0, max: height - y0 }) }).chain(({ w, h }) =>
          fc.uint8Array({ minLength: w * h, maxLength: w * h, max: 1 }).map((data) => ({
            width,
            height,
            region: { x0, y0, width: w, height: h, data, pixels: data.reduce((a, b) => a + b, 0) } as RegionMask,
          })),
        ),
      ),
  );

describe('region masks', () => {
  it('encode to exactly the RLE of the same mask drawn over the whole image', () => {
    fc.assert(
      fc.property(regionInImage, ({ width, height, region }) => {
        expect(regionToRle(region, width, height)).toEqual(encode({ width, height, data: embed(region, width, height) }));
      }),
    );
  });

  it('threshold a full-size probability map exactly', () => {
    fc.assert(
      fc.property(fc.float32Array({ minLength: 12 * 9, maxLength: 12 * 9, min: 0, max: 1, noNaN: true }), (map) => {
        const region = imageMask(map, 0, 12, 9, 0.5, 12, 9);
        const expected = Uint8Array.from(map, (p) => (p > 0.5 ? 1 : 0));
        expect(embed(region, 12, 9)).toEqual(expected);
        expect(region.pixels).toBe(expected.reduce((a, b) => a + b, 0));
      }),
    );
  });

  it('upsample a downscaled map to the full image, agreeing with plain bilinear over every pixel', () => {
    const map = new Float32Array(10 * 8);
    for (let y = 2; y < 6; y++) for (let x = 3; x < 8; x++) map[y * 10 + x] = 0.9;
    const region = imageMask(map, 0, 10, 8, 0.5, 30, 24);
    // Reference: PyTorch's bilinear (align_corners=False) written out for each of the 30 x 24 pixels.
    const at = (x: number, y: number) => map[y * 10 + x]!;
    const reference = new Uint8Array(30 * 24);
    for (let Y = 0; Y < 24; Y++) {
      for (let X = 0; X < 30; X++) {
        const sx = Math.max(0, (X + 0.5) / 3 - 0.5);
        const sy = Math.max(0, (Y + 0.5) / 3 - 0.5);
        const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
        const [x1, y1] = [Math.min(x0 + 1, 9), Math.min(y0 + 1, 7)];
        const top = at(x0, y0) * (1 - (sx - x0)) + at(x1, y0) * (sx - x0);
        const bottom = at(x0, y1) * (1 - (sx - x0)) + at(x1, y1) * (sx - x0);
        reference[Y * 30 + X] = top * (1 - (sy - y0)) + bottom * (sy - y0) > 0.5 ? 1 : 0;
      }
    }
    expect(embed(region, 30, 24)).toEqual(reference);
    const rle = regionToRle(region, 30, 24);
    // Cells 3..7 x 2..5 at 0.9 cross 0.5 a little inside their upscaled extent (9..23 x 6..17).
    expect(toBbox(rle)).toEqual([9, 6, 15, 12]);
    expect(area(rle)).toBe(region.pixels);
  });

  it('paste a per-box mask into its box as torchvision does: a full mask fills the box', () => {
    const ones = new Float32Array(28 * 28).fill(1);
    const region = pasteBoxMask(ones, 0, 28, [10, 20, 66, 76], 0.5, 100, 90);
    const rle = regionToRle(region, 100, 90);
    // torchvision's boxes are inclusive pixel ranges: 10..66 is 57 pixels.
    expect(toBbox(rle)).toEqual([10, 20, 57, 57]);
    expect(decode(rle).data.reduce((a, b) => a + b, 0)).toBe(57 * 57);
  });

  it('clip a pasted mask at the image border', () => {
    const ones = new Float32Array(28 * 28).fill(1);
    const region = pasteBoxMask(ones, 0, 28, [-20, -10, 30, 40], 0.5, 64, 48);
    expect(region.x0).toBe(0);
    expect(region.y0).toBe(0);
    // The grown box is -21..31 x -11..41 (53 px); the mask crosses 0.5 two pixels inside it, at 29 and 39.
    expect(toBbox(regionToRle(region, 64, 48))).toEqual([0, 0, 30, 40]);
  });

  it('find the same mask looking only within pastedMaskBounds of the box as over the whole map', () => {
    // A map holding a mask pasted the torchvision way: non-zero only inside the box grown by 2 cells in 28.
    const pasted = fc
      .record({
        x0: fc.float({ min: -10, max: 40, noNaN: true }),
        y0: fc.float({ min: -10, max: 30, noNaN: true }),
        w: fc.float({ min: 1, max: 30, noNaN: true }),
        h: fc.float({ min: 1, max: 30, noNaN: true }),
        seed: fc.integer(),
      })
      .map(({ x0, y0, w, h, seed }) => {
        const [width, height] = [40, 30];
        const map = new Float32Array(width * height);
        const [cx, cy, halfW, halfH] = [x0 + w / 2, y0 + h / 2, (w / 2) * (30 / 28), (h / 2) * (30 / 28)];
        let state = seed >>> 0;
        for (let y = Math.max(0, Math.trunc(cy - halfH)); y <= Math.min(height - 1, Math.trunc(cy + halfH)); y++) {
          for (let x = Math.max(0, Math.trunc(cx - halfW)); x <= Math.min(width - 1, Math.trunc(cx + halfW)); x++) {
            state = (state * 1103515245 + 12345) >>> 0;
            map[y * width + x] = state / 2 ** 32;
          }
        }
        return { map, width, height, box: [x0, y0, x0 + w, y0 + h] as const };
      });
    fc.assert(
      fc.property(pasted, fc.constantFrom(1, 2.5), ({ map, width, height, box }, upscale) => {
        const [imageWidth, imageHeight] = [Math.round(width * upscale), Math.round(height * upscale)];
        const whole = imageMask(map, 0, width, height, 0.5, imageWidth, imageHeight);
        const within = imageMask(map, 0, width, height, 0.5, imageWidth, imageHeight, pastedMaskBounds(box, width, height));
        expect(regionToRle(within, imageWidth, imageHeight)).toEqual(regionToRle(whole, imageWidth, imageHeight));
      }),
    );
  });
});
