// The feature cache as a model: any sequence of gets and sets keeps it within its byte bound (one oversized entry
// alone aside), holds exactly what a reference LRU list holds, and counts what it evicted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureCache } from './feature-cache.js';

type Step = { op: 'set'; key: string; bytes: number } | { op: 'get'; key: string } | { op: 'delete'; key: string };

const keys = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const steps = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: keys, bytes: fc.integer({ min: 0, max: 120 }) }),
    fc.record({ op: fc.constant('get' as const), key: keys }),
    fc.record({ op: fc.constant('delete' as const), key: keys }),
  ),
  { maxLength: 60 },
);

describe('FeatureCache', () => {
  it('stays within its bound and keeps the most recently used entries, as a plain LRU list does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), steps, (maxBytes, script: Step[]) => {
        const cache = new FeatureCache<string>(maxBytes);
        /** Reference: [key, bytes], least recently used first. */
        let model: [string, number][] = [];
        let evicted = 0;
        for (const step of script) {
          if (step.op === 'get') {
            const hit = model.find(([k]) => k === step.key);
            expect(cache.get(step.key)).toBe(hit ? `value of ${step.key}` : undefined);
            if (hit) model = [...model.filter(([k]) => k !== step.key), hit];
          } else if (step.op === 'delete') {
            expect(cache.delete(step.key)).toBe(model.some(([k]) => k === step.key));
            model = model.filter(([k]) => k !== step.key);
          } else {
            cache.set(step.key, `value of ${step.key}`, step.bytes);
            model = [...model.filter(([k]) => k !== step.key), [step.key, step.bytes]];
            while (model.reduce((n, [, b]) => n + b, 0) > maxBytes && model.length > 1) {
              model.shift();
              evicted++;
            }
          }
          const total = model.reduce((n, [, b]) => n + b, 0);
          expect(cache.keys()).toEqual(model.map(([k]) => k));
          expect(cache.stats).toEqual({ entries: model.length, bytes: total, maxBytes, evicted });
          // Within the bound, unless one entry larger than the bound is alone in it.
          expect(total <= maxBytes || model.length === 1).toBe(true);
        }
      }),
    );
  });

  it('refuses sizes that are not byte counts', () => {
    expect(() => new FeatureCache(Number.NaN)).toThrow(/number of bytes/);
    expect(() => new FeatureCache(10).set('a', 1, -1)).toThrow(/number of bytes/);
  });
});
