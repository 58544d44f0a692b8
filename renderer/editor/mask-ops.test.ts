import { describe, expect, it } from 'vitest';
import { H, rectMask, W } from './fixtures.test-support.js';
import { countSet, emptyMask, fillHoles, paintDisc } from './mask-ops.js';

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
});
