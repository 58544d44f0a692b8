import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDiff, invert } from '../history/diff.js';
import { AnnotationId, CategoryId, ImageId, ModelId, type Annotation } from '../model/index.js';
import { conflictingRules, decideByRules, isPendingPrediction, isTruth, settleForReview } from './rules.js';

const image = { width: 64, height: 48 };

const annotation = (fields: Partial<Annotation> & Pick<Annotation, 'id'>): Annotation => ({
  imageId: ImageId(1), categoryId: CategoryId(1), bbox: [0, 0, 1, 1], mask: null, score: 0.5,
  origin: 'model', modelId: ModelId(1), state: 'pending', ...fields,
});

const annotationArb = (id: number): fc.Arbitrary<Annotation> =>
  fc.record({
    origin: fc.constantFrom('model', 'model-edited', 'human') as fc.Arbitrary<Annotation['origin']>,
    state: fc.constantFrom('pending', 'accepted', 'rejected') as fc.Arbitrary<Annotation['state']>,
    score: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    category: fc.integer({ min: 1, max: 3 }),
    stale: fc.option(fc.constantFrom(image, { width: 32, height: 48 }), { nil: undefined }),
  }).map(({ origin, state, score, category, stale }) =>
    annotation({
      id: AnnotationId(`a${id}`), origin, state, categoryId: CategoryId(category),
      score: origin === 'human' ? null : score, modelId: origin === 'human' ? null : ModelId(1),
      ...(stale ? { stale } : {}),
    }),
  );
const listArb = fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => annotationArb(i))));
const viewArb = fc.option(
  fc.record({ threshold: fc.double({ min: 0, max: 1, noNaN: true }), hiddenCategoryIds: fc.subarray([1, 2, 3].map(CategoryId)) }),
  { nil: null },
);

describe('marking an image reviewed', () => {
  it('leaves nothing pending or stale, and its inverse restores the image exactly (property)', () => {
    fc.assert(
      fc.property(listArb, viewArb, (list, view) => {
        const decision = settleForReview(list, image, view);
        const after = applyDiff(list, decision.changes);
        expect(after.filter((a) => a.state === 'pending' || a.stale !== undefined)).toEqual([]);
        expect(decision.accepted + decision.rejected).toBe(list.filter((a) => a.state === 'pending' && !(a.stale && a.stale.width !== 64)).length);
        expect(applyDiff(after, invert(decision.changes))).toEqual(expect.arrayContaining(list));
        // Nothing a person decided is decided again: accepted and rejected keep their state.
        for (const a of after) {
          const was = list.find((b) => b.id === a.id)!;
          if (was.state !== 'pending') expect(a.state).toBe(was.state);
        }
      }),
    );
  });

  it('accepts the predictions shown at the threshold and class filter and rejects those hidden', () => {
    const shown = annotation({ id: AnnotationId('shown'), score: 0.9 });
    const low = annotation({ id: AnnotationId('low'), score: 0.3 });
    const hiddenClass = annotation({ id: AnnotationId('hidden-class'), score: 0.95, categoryId: CategoryId(2) });
    const edited = annotation({ id: AnnotationId('edited'), origin: 'model-edited', score: 0.1 });
    const decided = annotation({ id: AnnotationId('decided'), state: 'rejected', score: 0.99 });
    const decision = settleForReview([shown, low, hiddenClass, edited, decided], image, { threshold: 0.5, hiddenCategoryIds: [CategoryId(2)] });
    expect(decision).toMatchObject({ accepted: 2, rejected: 2, kept: 0, dropped: 0 });
    expect(Object.fromEntries(decision.changes.updated.map((u) => [u.after.id, u.after.state]))).toEqual({
      shown: 'accepted', low: 'rejected', 'hidden-class': 'rejected', edited: 'accepted',
    });
    // With nothing shown every pending prediction is rejected; a person's edit is still kept.
    expect(settleForReview([shown, edited], image, null)).toMatchObject({ accepted: 1, rejected: 1 });
  });

  it('keeps stale annotations that still fit the image and drops the others', () => {
    const fits = annotation({ id: AnnotationId('fits'), origin: 'human', modelId: null, score: null, state: 'accepted', stale: image });
    const wrong = annotation({ id: AnnotationId('wrong'), origin: 'human', modelId: null, score: null, state: 'accepted', stale: { width: 50, height: 60 } });
    const decision = settleForReview([fits, wrong], image, null);
    expect(decision).toMatchObject({ kept: 1, dropped: 1, accepted: 0, rejected: 0 });
    const { stale: _stale, ...fresh } = fits;
    expect(decision.changes.updated).toEqual([{ before: fits, after: fresh }]);
    expect(decision.changes.removed).toEqual([wrong]);
  });
});

describe('review rules', () => {
  const scored = [0.95, 0.7, 0.4, 0.1].map((score, i) => annotation({ id: AnnotationId(`p${i}`), score }));
  const states = (list: readonly Annotation[], rules: Parameters<typeof decideByRules>[1]) =>
    applyDiff(list, decideByRules(list, rules).changes).map((a) => a.state);

  it('accepts above, rejects below, accepts all or rejects what is left', () => {
    expect(states(scored, { acceptAbove: 0.7 })).toEqual(['accepted', 'accepted', 'pending', 'pending']);
    expect(states(scored, { rejectBelow: 0.4 })).toEqual(['pending', 'pending', 'pending', 'rejected']);
    expect(states(scored, { acceptAbove: 0.9, rejectBelow: 0.5 })).toEqual(['accepted', 'pending', 'rejected', 'rejected']);
    expect(states(scored, { acceptAbove: 0.9, rejectPending: true })).toEqual(['accepted', 'rejected', 'rejected', 'rejected']);
    expect(states(scored, { acceptAll: true })).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
  });

  it('never touches what a person made or decided', () => {
    const human = annotation({ id: AnnotationId('h'), origin: 'human', modelId: null, score: null });
    const rejected = annotation({ id: AnnotationId('r'), state: 'rejected', score: 0.99 });
    expect(decideByRules([human, rejected], { acceptAll: true }).changes.updated).toEqual([]);
  });

  it('refuses rules that contradict each other', () => {
    expect(conflictingRules({ acceptAll: true, rejectPending: true })).toMatch(/cannot be combined/);
    expect(conflictingRules({ acceptAbove: 0.3, rejectBelow: 0.5 })).toBe('accept above 0.3 and reject below 0.5 overlap');
    expect(conflictingRules({ acceptAbove: 0.5, rejectBelow: 0.5 })).toBeNull();
    expect(() => decideByRules(scored, { acceptAll: true, rejectBelow: 0.2 })).toThrow(/cannot be combined/);
  });
});

describe('reviewed truth', () => {
  it('is what a person made, edited or accepted; pending only on request; never rejected or stale', () => {
    const cases: [Partial<Annotation>, boolean, boolean][] = [
      [{ origin: 'human', state: 'accepted' }, true, true],
      [{ origin: 'human', state: 'pending' }, true, true],
      [{ origin: 'model-edited', state: 'pending' }, true, true],
      [{ origin: 'model', state: 'accepted' }, true, true],
      [{ origin: 'model', state: 'pending' }, false, true],
      [{ origin: 'model', state: 'rejected' }, false, false],
      [{ origin: 'human', state: 'accepted', stale: image }, false, false],
    ];
    for (const [fields, truth, withPending] of cases) {
      const a = annotation({ id: AnnotationId('x'), ...fields });
      expect([isTruth(a), isTruth(a, { includePending: true })], JSON.stringify(fields)).toEqual([truth, withPending]);
    }
    expect(isPendingPrediction(annotation({ id: AnnotationId('y') }))).toBe(true);
  });
});
