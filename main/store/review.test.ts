import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDiff, invert } from '../../app/history/diff.js';
import type { Annotation, CategoryId, ImageId, ModelId } from '../../app/model/index.js';
import { humanBox, imageFile, temporaryProject, updateOf } from './store.test-support.js';
import { diffOf } from '../../app/history/diff.js';

let project: ReturnType<typeof temporaryProject>;
let imageId: ImageId;
let circle: CategoryId;
let star: CategoryId;
let modelId: ModelId;

beforeEach(() => {
  project = temporaryProject();
  const { images, categories, models } = project.store;
  [imageId] = images.writeFiles([{ file: imageFile('a.jpg') }]) as [ImageId];
  [circle, star] = categories.ensure(['circle', 'star']).map((c) => c.id) as [CategoryId, CategoryId];
  modelId = models.register({ name: 'shapes', format: 'torchvision-maskrcnn', labels: ['bg', 'circle', 'star'], card: {}, path: '/m.onnx', sha256: 'm' }).id;
});
afterEach(() => project.dispose());

const predict = (scores: [CategoryId, number][]) =>
  project.store.annotations.replaceModelPredictions(imageId, modelId, scores.map(([categoryId, score], i) => ({ categoryId, bbox: [i, i, 2, 2], mask: null, score }))).annotations;

const sorted = (list: readonly Annotation[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

describe('marking an image reviewed', () => {
  it('accepts what is shown, rejects what is hidden, in one transaction with one history entry each', () => {
    const { review, history, images, annotations } = project.store;
    const [high, low, hiddenClass] = predict([[circle, 0.9], [circle, 0.3], [star, 0.95]]);
    const human = humanBox(imageId, circle);
    annotations.apply(imageId, diffOf({ added: [human] }));
    const historyBefore = history.forImage(imageId).length;

    const outcome = review.markReviewed(imageId, { threshold: 0.5, hiddenCategoryIds: [star] });
    expect(outcome).toMatchObject({ accepted: 2, rejected: 2, kept: 0, dropped: 0, previousStatus: 'in-review', image: { status: 'reviewed' } });
    const states = Object.fromEntries(annotations.forImage(imageId).map((a) => [a.id, a.state]));
    expect(states).toEqual({ [high!.id]: 'accepted', [low!.id]: 'rejected', [hiddenClass!.id]: 'rejected', [human.id]: 'accepted' });
    const entries = history.forImage(imageId).slice(historyBefore);
    expect(entries.map((e) => [e.annotationId, e.action, e.actor])).toEqual(
      expect.arrayContaining([[high!.id, 'accepted', 'human'], [low!.id, 'rejected', 'human'], [hiddenClass!.id, 'rejected', 'human']]),
    );
    expect(entries).toHaveLength(4);
    expect(images.get(imageId)!.status).toBe('reviewed');
  });

  it('is undone in one step: the inverse diff with the previous status restores every row', () => {
    const { review, annotations, images } = project.store;
    predict([[circle, 0.9], [circle, 0.3]]);
    const before = sorted(annotations.forImage(imageId));
    const outcome = review.markReviewed(imageId, { threshold: 0.5 });
    expect(sorted(applyDiff(before, outcome.changes))).toEqual(sorted(annotations.forImage(imageId)));
    const undo = invert(outcome.changes);
    annotations.apply(imageId, undo, 'human', { status: outcome.previousStatus });
    expect(sorted(annotations.forImage(imageId))).toEqual(before);
    expect(outcome.previousStatus).toBe('new');
    expect(images.get(imageId)!.status).toBe('new');
  });

  it('never lets a reviewed image hold a pending prediction: pre-labeling, edits and status are refused', () => {
    const { review, annotations, images } = project.store;
    const [p] = predict([[circle, 0.9]]);
    expect(() => images.setStatus(imageId, 'reviewed')).toThrow(/a reviewed image cannot hold a pending prediction/);
    review.markReviewed(imageId, null);
    expect(annotations.get(p!.id)!.state).toBe('rejected');
    expect(() => predict([[circle, 0.8]])).toThrow(/is reviewed: pre-labeling leaves it alone/);
    expect(() => annotations.apply(imageId, diffOf({ updated: [updateOf(annotations, { ...annotations.get(p!.id)!, state: 'pending' })] }))).toThrow(
      /a reviewed image cannot hold a pending prediction/,
    );
    expect(annotations.get(p!.id)!.state).toBe('rejected');
    expect(images.get(imageId)!.status).toBe('reviewed');
  });

  it('keeps stale annotations that fit the image and drops the others', () => {
    const { review, annotations, images } = project.store;
    const fits = humanBox(imageId, circle);
    const other = humanBox(imageId, star);
    annotations.apply(imageId, diffOf({ added: [fits, other] }));
    project.store.db.prepare(`UPDATE annotations SET stale_width = 64, stale_height = 48 WHERE id = ?`).run(fits.id);
    project.store.db.prepare(`UPDATE annotations SET stale_width = 32, stale_height = 24 WHERE id = ?`).run(other.id);
    expect(images.list({ stale: true, limit: 10 }).items.map((i) => i.id)).toEqual([imageId]);
    const outcome = review.markReviewed(imageId, null);
    expect(outcome).toMatchObject({ kept: 1, dropped: 1 });
    expect(annotations.forImage(imageId).map((a) => [a.id, a.stale])).toEqual([[fits.id, undefined]]);
    expect(images.list({ stale: true, limit: 10 }).items).toEqual([]);
  });

  it('refuses an image that could not be decoded', () => {
    project.store.images.setStatus(imageId, 'error', 'truncated');
    expect(() => project.store.review.markReviewed(imageId, null)).toThrow('a.jpg could not be decoded (truncated): it cannot be marked reviewed');
  });
});

describe('review rules on one image', () => {
  it('records the same decisions and history as the editor, leaving the image in review unless marked', () => {
    const { review, history, annotations } = project.store;
    const [a, b, c] = predict([[circle, 0.95], [circle, 0.6], [star, 0.2]]);
    const outcome = review.review(imageId, { acceptAbove: 0.9, rejectBelow: 0.5 }, { markReviewed: false, view: null });
    expect(outcome).toMatchObject({ accepted: 1, rejected: 1, markedReviewed: false, image: { status: 'in-review' } });
    expect(annotations.get(b!.id)!.state).toBe('pending');
    expect(history.forAnnotation(a!.id).at(-1)).toMatchObject({ action: 'accepted', actor: 'human' });
    expect(history.forAnnotation(c!.id).at(-1)).toMatchObject({ action: 'rejected', actor: 'human' });
    const marked = review.review(imageId, { acceptAbove: 0.5 }, { markReviewed: true, view: { threshold: 0.5 } });
    expect(marked).toMatchObject({ accepted: 1, rejected: 0, image: { status: 'reviewed' } });
  });
});
