import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImageId, ModelId } from '../../app/model/index.js';
import { learningRecords } from '../learning/records.js';
import { imageFile, temporaryProject } from './store.test-support.js';
import type { ProjectStore } from './project.js';
import { uncertaintyQueue } from './uncertainty.js';

let project: ReturnType<typeof temporaryProject>;
let store: ProjectStore;
let ids: Record<string, ImageId>;
let model: ModelId;

beforeEach(() => {
  project = temporaryProject();
  store = project.store;
  const paths = ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'f.jpg'];
  const written = store.images.writeFiles(paths.map((path) => ({ file: imageFile(path) })));
  ids = Object.fromEntries(paths.map((p, i) => [p.slice(0, 1), written[i]!]));
  const [category] = store.categories.ensure(['thing']);
  model = store.models.register({
    name: 'm', format: 'torchvision-maskrcnn', labels: ['__background__', 'thing'], card: { thresholds: { score: 0.6, mask: 0.5 } }, path: '/m.onnx', sha256: 'm',
  }).id;
  const predict = (image: ImageId, scores: number[]) => store.annotations.replaceModelPredictions(image, model, scores.map((score) => ({
    categoryId: category!.id, bbox: [0, 0, 2, 2], mask: null, score,
  })));
  predict(ids.a!, [0.6, 0.7]); // 1 + 0.5
  predict(ids.b!, [0.95]); // 0: far above the threshold
  predict(ids.c!, [0.5, 0.55, 0.65]); // 0.5 + 0.75 + 0.75
  predict(ids.f!, [0.6]); // 1, but reviewed below
  store.review.review(ids.f!, { acceptAll: true }, { markReviewed: true, view: null });
  // d and e: no predictions
});
afterEach(() => project.dispose());

describe('most uncertain first', () => {
  it('queues the images to review by how many predictions sit near their model\'s threshold, ties by path', () => {
    const queue = uncertaintyQueue(store.db, 10);
    expect(queue.map((q) => q.path)).toEqual(['c.jpg', 'a.jpg', 'b.jpg', 'd.jpg', 'e.jpg']);
    expect(queue.map((q) => q.uncertainty)).toEqual([2, 1.5, 0, 0, 0]);
    expect(queue.map((q) => q.nearThreshold)).toEqual([3, 2, 0, 0, 0]);
    expect(uncertaintyQueue(store.db, 2).map((q) => q.path)).toEqual(['c.jpg', 'a.jpg']);
  });

  it('pages the image list in that order with its cursor, under the other filters', () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = store.images.list({ sort: 'uncertain', after, limit: 2 });
      seen.push(...page.items.map((i) => i.path));
      after = page.next;
    } while (after !== null);
    // f is reviewed: its accepted prediction no longer counts.
    expect(seen).toEqual(['c.jpg', 'a.jpg', 'b.jpg', 'd.jpg', 'e.jpg', 'f.jpg']);
    expect(store.images.list({ sort: 'uncertain', limit: 10, search: 'b' }).items.map((i) => i.path)).toEqual(['b.jpg']);
    expect(() => store.images.list({ sort: 'uncertain', after: 'c.jpg', limit: 2 })).toThrow(/not a cursor of the uncertainty order/);
  });

  it('filters the images where the comparison set disagrees with the review', () => {
    const records = learningRecords(store);
    records.setComparisonCounts(ids.a!, model, { matched: 2, missed: 0, extra: 0, lowOverlap: 0 });
    records.setComparisonCounts(ids.b!, model, { matched: 1, missed: 1, extra: 0, lowOverlap: 0 });
    records.setComparisonCounts(ids.c!, model, { matched: 1, missed: 0, extra: 0, lowOverlap: 1 });
    expect(store.images.list({ disagreements: true, limit: 10 }).items.map((i) => i.path)).toEqual(['b.jpg', 'c.jpg']);
    expect(store.images.list({ disagreements: false, limit: 10 }).items.map((i) => i.path)).toEqual(['a.jpg', 'd.jpg', 'e.jpg', 'f.jpg']);
  });
});
