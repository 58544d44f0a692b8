import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, toBbox, type BitMask } from '../geometry/rle.js';
import { AnnotationId, CategoryId, ImageId, type Annotation, type Rle } from '../model/index.js';
import { compareImage, type ComparedRegion } from './compare.js';

const W = 40;
const H = 30;

function rectangle(x: number, y: number, w: number, h: number): Rle {
  const data = new Uint8Array(W * H);
  for (let r = y; r < Math.min(H, y + h); r++) for (let c = x; c < Math.min(W, x + w); c++) data[r * W + c] = 1;
  return encode({ width: W, height: H, data } satisfies BitMask);
}

let next = 0;
function truth(mask: Rle, category = 1, crowd = false): Annotation {
  return {
    id: AnnotationId(`a${next++}`), imageId: ImageId(1), categoryId: CategoryId(category), bbox: toBbox(mask), mask, score: null,
    origin: 'human', modelId: null, state: 'accepted', ...(crowd ? { crowd: true } : {}),
  };
}

const prediction = (mask: Rle, score = 0.9, category = 1): ComparedRegion => ({ categoryId: CategoryId(category), bbox: toBbox(mask), mask, score });

describe('compareImage', () => {
  it('matches the same instance, calls a poor outline low-overlap, a shift too far missed plus extra, the wrong class both', () => {
    const a = truth(rectangle(0, 0, 10, 10));
    const b = truth(rectangle(20, 0, 10, 10));
    const c = truth(rectangle(0, 15, 10, 10));
    const d = truth(rectangle(20, 15, 10, 10));
    const result = compareImage([a, b, c, d], [
      prediction(rectangle(0, 0, 10, 10)), // a exactly
      prediction(rectangle(20, 0, 10, 6)), // b at IoU 0.6
      prediction(rectangle(5, 15, 10, 10)), // c at IoU 1/3: not a match
      prediction(rectangle(20, 15, 10, 10), 0.9, 2), // d's place, another class
    ]);
    expect(result.predictions.map((p) => p.outcome)).toEqual(['matched', 'low-overlap', 'extra', 'extra']);
    expect(result.predictions[0]).toMatchObject({ annotationId: a.id, iou: 1 });
    expect(result.predictions[1]!.iou).toBeCloseTo(0.6, 10);
    expect(result.missed).toEqual([c.id, d.id]);
    expect(result.counts).toEqual({ matched: 2, lowOverlap: 1, missed: 2, extra: 2 });
  });

  it('gives an instance to the highest-scoring prediction; the second one on it is extra', () => {
    const a = truth(rectangle(0, 0, 10, 10));
    const result = compareImage([a], [prediction(rectangle(0, 0, 10, 9), 0.6), prediction(rectangle(0, 0, 10, 10), 0.95)]);
    expect(result.predictions.map((p) => p.outcome)).toEqual(['extra', 'matched']);
    expect(result.missed).toEqual([]);
  });

  it('counts a prediction on a crowd region of its class as neither a match nor an extra, and never misses a crowd region', () => {
    const crowd = truth(rectangle(0, 0, 30, 20), 1, true);
    const result = compareImage([crowd], [prediction(rectangle(2, 2, 8, 8))]);
    expect(result.predictions[0]).toMatchObject({ outcome: 'crowd', annotationId: crowd.id });
    expect(result.counts).toEqual({ matched: 0, lowOverlap: 0, missed: 0, extra: 0 });
  });

  it('scores a box without a mask by box IoU', () => {
    const box = { ...truth(rectangle(0, 0, 10, 10)), mask: null };
    const result = compareImage([box], [prediction(rectangle(0, 0, 10, 10))]);
    expect(result.predictions[0]).toMatchObject({ outcome: 'matched', iou: 1 });
  });

  it('accounts for every prediction and every instance, whatever they are', () => {
    const region = fc.record({ x: fc.integer({ min: 0, max: W - 2 }), y: fc.integer({ min: 0, max: H - 2 }), w: fc.integer({ min: 1, max: 15 }), h: fc.integer({ min: 1, max: 15 }), category: fc.integer({ min: 1, max: 2 }) });
    fc.assert(fc.property(fc.array(fc.record({ r: region, crowd: fc.boolean() }), { maxLength: 6 }), fc.array(fc.record({ r: region, score: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 6 }), (truths, predictions) => {
      const annotations = truths.map(({ r, crowd }) => truth(rectangle(r.x, r.y, r.w, r.h), r.category, crowd));
      const result = compareImage(annotations, predictions.map(({ r, score }) => prediction(rectangle(r.x, r.y, r.w, r.h), score, r.category)));
      const crowdHits = result.predictions.filter((p) => p.outcome === 'crowd').length;
      expect(result.counts.matched + result.counts.extra + crowdHits).toBe(predictions.length);
      expect(result.counts.matched + result.counts.missed).toBe(annotations.filter((a) => !a.crowd).length);
      expect(result.counts.lowOverlap).toBeLessThanOrEqual(result.counts.matched);
      const matchedIds = result.predictions.filter((p) => p.outcome === 'matched' || p.outcome === 'low-overlap').map((p) => p.annotationId);
      expect(new Set(matchedIds).size).toBe(matchedIds.length);
      // The truth compared with itself: all found, nothing extra or missed.
      const self = compareImage(annotations, annotations.filter((a) => !a.crowd).map((a) => ({ ...a, score: 1 })));
      expect(self.counts).toMatchObject({ missed: 0, extra: 0, lowOverlap: 0 });
    }));
  });
});
