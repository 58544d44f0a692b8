import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COCOAPI_FIXTURE as FIXTURE, hasCocoapiFixture as hasFixture, readCocoapiCases } from '../../main/testing/cocoapi-fixture.test-support.js';
import {
  area,
  compressCounts,
  decode,
  decompressCounts,
  encode,
  fromCounts,
  iou,
  maskBounds,
  merge,
  RleError,
  toBbox,
  toCounts,
  type BitMask,
} from './rle.js';

const PYTHON = fileURLToPath(new URL('../../tools/model/.venv/bin/python', import.meta.url));

/** Arbitrary row-major masks: empty, full, noise and rectangles, 1 to 40 pixels a side. */
function maskArb(width: fc.Arbitrary<number>, height: fc.Arbitrary<number>): fc.Arbitrary<BitMask> {
  return fc.tuple(width, height).chain(([w, h]) => maskOfSize(w, h));
}

function maskOfSize(w: number, h: number): fc.Arbitrary<BitMask> {
  const n = w * h;
  const fill = (v: number) => fc.constant({ width: w, height: h, data: new Uint8Array(n).fill(v) });
  const noise = fc.uint8Array({ minLength: n, maxLength: n }).chain((bytes) =>
    fc.integer({ min: 1, max: 255 }).map((threshold) => ({
      width: w,
      height: h,
      data: bytes.map((b) => (b < threshold ? 1 : 0)),
    })),
  );
  const rects = fc
    .array(fc.tuple(fc.nat(w - 1), fc.nat(h - 1), fc.nat(w), fc.nat(h)), { minLength: 1, maxLength: 4 })
    .map((boxes) => {
      const data = new Uint8Array(n);
      for (const [x0, y0, bw, bh] of boxes) {
        for (let y = y0; y < Math.min(h, y0 + bh); y++) for (let x = x0; x < Math.min(w, x0 + bw); x++) data[y * w + x] = 1;
      }
      return { width: w, height: h, data };
    });
  return fc.oneof(fill(0), fill(1), noise, rects);
}

const anyMask = maskArb(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }));
const maskPair = fc
  .tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }))
  .chain(([w, h]) => fc.tuple(maskOfSize(w, h), maskOfSize(w, h)));

function pixelCount(m: BitMask): number {
  return m.data.reduce((sum, v) => sum + v, 0);
}

function tightBox(m: BitMask): [number, number, number, number] {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.data[y * m.width + x]) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

describe('compact string form', () => {
  it('writes small counts as one character each and uses deltas from the fourth count on', () => {
    expect(compressCounts([0, 1, 2])).toBe('012');
    // 3 - 1 = 2 for the fourth count; 1 - 2 = -1 for the fifth ('O' is 48 + 0x1f, the sign bit set).
    expect(compressCounts([0, 1, 2, 3, 1])).toBe('0122O');
    expect(decompressCounts('0122O')).toEqual([0, 1, 2, 3, 1]);
    // 40 needs two groups: 8 with the continuation bit ('X' = 48 + 0x20 + 8), then 1.
    expect(compressCounts([40])).toBe('X1');
  });

  it('round-trips large counts and large negative deltas', () => {
    const counts = [5, 3_000_000, 1, 2, 4_000_000_000, 7, 0, 123_456_789];
    expect(decompressCounts(compressCounts(counts))).toEqual(counts);
  });

  it('rejects characters outside 0..o with their position', () => {
    expect(() => decompressCounts('01p2')).toThrow(new RleError('RLE string has an invalid character "p" at position 2'));
    expect(() => decompressCounts('0 1')).toThrow(/invalid character " " at position 1/);
  });

  it('rejects a string that stops inside a count', () => {
    // 'P' is 0x20 + 0 + 48: a group that says another follows.
    expect(() => decompressCounts('01P')).toThrow(new RleError('RLE string ends in the middle of a count'));
  });

  it('rejects runs that decode to a negative length', () => {
    // Fourth count: 1 + (-2) = -1 ('N' is -2).
    expect(() => decompressCounts('012N')).toThrow(new RleError('RLE run 3 has negative length -1'));
  });
});

describe('validation', () => {
  it('rejects counts that do not add up to height x width', () => {
    expect(() => fromCounts([30, 40], [600, 400])).toThrow(
      new RleError('RLE counts sum to 1000, expected 1200 (height 30 x width 40)'),
    );
    expect(toCounts({ size: [2, 2], counts: '13' })).toEqual([1, 3]);
    expect(() => toCounts({ size: [2, 3], counts: '13' })).toThrow(
      new RleError('RLE counts sum to 4, expected 6 (height 2 x width 3)'),
    );
  });

  it('rejects negative, fractional and non-numeric plain counts', () => {
    expect(() => fromCounts([2, 2], [5, -1])).toThrow(new RleError('RLE run 1 must be a non-negative integer, got -1'));
    expect(() => fromCounts([2, 2], [3.5, 0.5])).toThrow(/run 0 must be a non-negative integer, got 3.5/);
    expect(() => fromCounts([2, 2], ['4' as unknown as number])).toThrow(/run 0 must be a non-negative integer/);
  });

  it('rejects a bad size', () => {
    expect(() => fromCounts([2], [2])).toThrow(/size must be \[height, width\]/);
    expect(() => fromCounts([-1, 2], [])).toThrow(/size must be \[height, width\]/);
  });

  it('rejects mask data of the wrong length', () => {
    expect(() => encode({ width: 3, height: 2, data: new Uint8Array(5) })).toThrow(
      new RleError('mask data has 5 bytes, expected 6 (height 2 x width 3)'),
    );
  });

  it('refuses to compare or merge masks of different sizes', () => {
    const a = encode({ width: 2, height: 3, data: new Uint8Array(6).fill(1) });
    const b = encode({ width: 3, height: 2, data: new Uint8Array(6).fill(1) });
    expect(() => iou(a, b)).toThrow(/iou needs masks of the same size, got 3x2 and 2x3/);
    expect(() => merge([a, b])).toThrow(/merge needs masks of the same size/);
    expect(() => merge([])).toThrow(/at least one/);
  });
});

describe('encode and decode', () => {
  it('reads pixels column-major and starts with the zeros run', () => {
    // 2 x 3 (height x width), row-major:
    // 1 0 0
    // 1 1 0
    const mask: BitMask = { width: 3, height: 2, data: Uint8Array.from([1, 0, 0, 1, 1, 0]) };
    const rle = encode(mask);
    expect(rle.size).toEqual([2, 3]);
    expect(toCounts(rle)).toEqual([0, 2, 1, 1, 2]);
    expect(decode(rle)).toEqual(mask);
    expect(area(rle)).toBe(3);
    expect(toBbox(rle)).toEqual([0, 0, 2, 2]);
  });

  it('handles empty images', () => {
    const rle = encode({ width: 0, height: 0, data: new Uint8Array(0) });
    expect(toCounts(rle)).toEqual([0]);
    expect(area(rle)).toBe(0);
    expect(toBbox(rle)).toEqual([0, 0, 0, 0]);
    expect(decode(rle).data.length).toBe(0);
  });

  it('decode(encode(m)) = m', () => {
    fc.assert(fc.property(anyMask, (m) => {
      expect(decode(encode(m))).toEqual(m);
    }));
  });

  it('area is the pixel count', () => {
    fc.assert(fc.property(anyMask, (m) => area(encode(m)) === pixelCount(m)));
  });

  it('toBbox is the tight box of the set pixels', () => {
    fc.assert(fc.property(anyMask, (m) => {
      expect(toBbox(encode(m))).toEqual(tightBox(m));
    }));
  });

  it('maskBounds is the tight box too, and null only for an empty mask', () => {
    fc.assert(fc.property(anyMask, (m) => {
      expect(maskBounds(m) ?? [0, 0, 0, 0]).toEqual(tightBox(m));
      expect(maskBounds(m) === null).toBe(pixelCount(m) === 0);
    }));
  });

  it('iou(m, m) is 1 for a non-empty mask, and 0 for an empty one', () => {
    fc.assert(fc.property(anyMask, (m) => iou(encode(m), encode(m)) === (pixelCount(m) > 0 ? 1 : 0)));
  });

  it('iou is symmetric and is intersection over union of the pixels', () => {
    fc.assert(
      fc.property(maskPair, ([a, b]) => {
        const [ra, rb] = [encode(a), encode(b)];
        let inter = 0;
        let union = 0;
        a.data.forEach((v, i) => {
          inter += v & b.data[i]!;
          union += v | b.data[i]!;
        });
        expect(iou(ra, rb)).toBe(iou(rb, ra));
        expect(iou(ra, rb)).toBe(inter === 0 ? 0 : inter / union);
      }),
    );
  });

  it('merge is the pixelwise OR, and with intersect the pixelwise AND', () => {
    fc.assert(
      fc.property(maskPair, ([a, b]) => {
        const or = a.data.map((v, i) => v | b.data[i]!);
        const and = a.data.map((v, i) => v & b.data[i]!);
        expect(merge([encode(a), encode(b)])).toEqual(encode({ ...a, data: or }));
        expect(merge([encode(a), encode(b)], true)).toEqual(encode({ ...a, data: and }));
      }),
    );
  });

  it('merges three or more masks and returns a single mask unchanged', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 })).chain(([w, h]) =>
          fc.array(maskOfSize(w, h), { minLength: 1, maxLength: 5 }),
        ),
        (masks) => {
          const or = masks[0]!.data.map((_, i) => (masks.some((m) => m.data[i]) ? 1 : 0));
          const rles = masks.map(encode);
          expect(merge(rles)).toEqual(encode({ ...masks[0]!, data: or }));
        },
      ),
    );
    const single = { size: [1, 1] as const, counts: '01' };
    expect(merge([single])).toBe(single);
  });
});

describe.skipIf(!hasFixture)(hasFixture ? `pycocotools strings in ${FIXTURE}` : `skipped: ${FIXTURE} is absent`, () => {
  const cases = readCocoapiCases();

  it('has the 300 cases', () => expect(cases.length).toBe(300));

  it('compresses each counts array to the same string, byte for byte, and back', () => {
    for (const c of cases) {
      expect(compressCounts(c.uncompressed_counts)).toBe(c.counts);
      expect(decompressCounts(c.counts)).toEqual(c.uncompressed_counts);
      expect(fromCounts(c.size, c.uncompressed_counts)).toEqual({ size: c.size, counts: c.counts });
    }
  });

  it('gives the same area and bbox', () => {
    for (const c of cases) {
      const rle = { size: c.size, counts: c.counts };
      expect(area(rle)).toBe(c.area);
      expect(toBbox(rle)).toEqual(c.bbox);
    }
  });

  it('decodes to a mask that encodes back to the same string', () => {
    for (const c of cases.slice(0, 40)) {
      const rle = { size: c.size, counts: c.counts };
      expect(encode(decode(rle))).toEqual(rle);
    }
  });
});

const ORACLE = `
import json, sys
import numpy as np
from pycocotools import mask as M
req = json.load(sys.stdin)
def enc(m):
    a = np.asfortranarray(np.array(m['data'], dtype=np.uint8).reshape(m['height'], m['width']))
    return M.encode(a)
def s(r):
    return {'size': list(r['size']), 'counts': r['counts'].decode('ascii')}
out = {'single': [], 'pairs': []}
for m in req['masks']:
    r = enc(m)
    out['single'].append({'rle': s(r), 'area': int(M.area(r)), 'bbox': [float(v) for v in M.toBbox(r)]})
for a, b in req['pairs']:
    ra, rb = enc(a), enc(b)
    out['pairs'].append({
        'iou': float(M.iou([ra], [rb], [0])[0][0]),
        'crowd_iou': float(M.iou([ra], [rb], [1])[0][0]),
        'union': s(M.merge([ra, rb])),
        'intersection': s(M.merge([ra, rb], intersect=True)),
    })
json.dump(out, sys.stdout)
`;

const hasPython = existsSync(PYTHON);
describe.skipIf(!hasPython)(hasPython ? 'against pycocotools' : `skipped: ${PYTHON} is missing (tools/model/setup-venv.sh makes it)`, () => {
  it('writes the same strings, areas, boxes, IoUs (crowd IoUs too) and merges for random masks', () => {
    const masks = [
      ...fc.sample(anyMask, { seed: 7, numRuns: 150 }),
      ...fc.sample(maskArb(fc.integer({ min: 100, max: 300 }), fc.integer({ min: 100, max: 300 })), { seed: 8, numRuns: 10 }),
      { width: 1, height: 1, data: Uint8Array.of(0) },
      { width: 1, height: 1, data: Uint8Array.of(1) },
      { width: 7, height: 5, data: new Uint8Array(35).fill(1) },
    ];
    const pairs = fc.sample(maskPair, { seed: 9, numRuns: 150 });
    const plain = (m: BitMask) => ({ width: m.width, height: m.height, data: Array.from(m.data) });
    const request = { masks: masks.map(plain), pairs: pairs.map(([a, b]) => [plain(a), plain(b)]) };
    const reply = JSON.parse(
      execFileSync(PYTHON, ['-c', ORACLE], { input: JSON.stringify(request), maxBuffer: 1 << 28 }).toString(),
    );
    masks.forEach((m, i) => {
      const expected = reply.single[i];
      const rle = encode(m);
      expect(rle).toEqual(expected.rle);
      expect(area(rle)).toBe(expected.area);
      expect(toBbox(rle)).toEqual(expected.bbox);
    });
    pairs.forEach(([a, b], i) => {
      const expected = reply.pairs[i];
      expect(iou(encode(a), encode(b))).toBe(expected.iou);
      expect(iou(encode(a), encode(b), true)).toBe(expected.crowd_iou);
      expect(merge([encode(a), encode(b)])).toEqual(expected.union);
      expect(merge([encode(a), encode(b)], true)).toEqual(expected.intersection);
    });
  });
});
