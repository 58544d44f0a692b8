import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CategoryId, ImageId, ModelId } from '../../app/model/index.js';
import { hasFullScan, queryPlan } from './queryPlan.js';
import { humanBox, imageFile, temporaryProject } from './store.test-support.js';

let project: ReturnType<typeof temporaryProject>;
let ids: ImageId[];
let modelId: ModelId;
let circle: CategoryId;

beforeEach(() => {
  project = temporaryProject();
  const { images, models, categories } = project.store;
  ids = images.writeFiles(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'].map((p) => ({ file: imageFile(p) })));
  images.setStatus(ids[3]!, 'error', 'Input file is missing');
  modelId = models.register({ name: 'shapes', format: 'torchvision-maskrcnn', labels: ['bg', 'circle'], card: { v: 1 }, path: '/m.onnx', sha256: 'h1' }).id;
  [circle] = categories.ensure(['circle']).map((c) => c.id) as [CategoryId];
});
afterEach(() => project.dispose());

it('records a batch of outcomes: predictions, status, one result per image and model', () => {
  const { prelabel, annotations, images, stats } = project.store;
  const run = prelabel.start(modelId, { threshold: 0.5 });
  expect(run).toMatchObject({ modelId, params: { threshold: 0.5 }, status: 'running', finishedAt: null });
  expect(prelabel.pendingImageIds(modelId)).toEqual(ids.slice(0, 3));

  prelabel.recordOutcomes(run.id, modelId, [
    { imageId: ids[0]!, durationMs: 12, predictions: [{ categoryId: circle, bbox: [0, 0, 4, 4], mask: null, score: 0.8 }] },
    { imageId: ids[1]!, durationMs: 3, error: 'tensor shape mismatch' },
  ]);
  expect(annotations.forImage(ids[0]!)).toHaveLength(1);
  expect(images.get(ids[0]!)!.status).toBe('predicted');
  // An image nobody had worked on shows why its run failed; it is tried again by the next run.
  expect(images.get(ids[1]!)).toMatchObject({ status: 'error', error: 'tensor shape mismatch' });
  expect(prelabel.pendingImageIds(modelId)).toEqual([ids[1], ids[2]]);
  expect(prelabel.failedImageIds()).toEqual(new Set([ids[1]]));
  expect(stats.unreadableImages()).toEqual([{ imageId: ids[3], path: 'd.jpg', stage: 'scan', reason: 'Input file is missing' }]);
  expect(prelabel.pendingImageIds(modelId, [ids[2]!, ids[0]!])).toEqual([ids[2]]);
  expect(stats.failedImages()).toEqual([
    { imageId: ids[1], path: 'b.jpg', stage: 'shapes', reason: 'tensor shape mismatch' },
    { imageId: ids[3], path: 'd.jpg', stage: 'scan', reason: 'Input file is missing' },
  ]);

  const retry = prelabel.start(modelId);
  prelabel.recordOutcomes(retry.id, modelId, [{ imageId: ids[1]!, durationMs: 9, predictions: [] }]);
  expect(images.get(ids[1]!)).toMatchObject({ status: 'predicted', error: null });
  expect(prelabel.resultsForRun(run.id).map((r) => r.imageId)).toEqual([ids[0]]);
  expect(prelabel.resultsForRun(retry.id)).toEqual([
    { runId: retry.id, imageId: ids[1], modelId, ok: true, message: null, instances: 0, durationMs: 9 },
  ]);
  expect(prelabel.finish(retry.id, 'completed')).toMatchObject({ status: 'completed', finishedAt: expect.any(String) });
});

it('writes no outcome of a batch when one fails', () => {
  const { prelabel, annotations } = project.store;
  const run = prelabel.start(modelId);
  expect(() =>
    prelabel.recordOutcomes(run.id, modelId, [
      { imageId: ids[0]!, durationMs: 1, predictions: [{ categoryId: circle, bbox: [0, 0, 1, 1], mask: null, score: 0.5 }] },
      { imageId: 9999 as ImageId, durationMs: 1, predictions: [] },
    ]),
  ).toThrow('image 9999 does not exist');
  expect(annotations.forImage(ids[0]!)).toEqual([]);
  expect(prelabel.resultsForRun(run.id)).toEqual([]);
});

it('registers the same weights once', () => {
  const { models } = project.store;
  const again = models.register({ name: 'renamed', format: 'torchvision-maskrcnn', labels: ['bg', 'circle'], card: {}, path: '/moved.onnx', sha256: 'h1' });
  expect(again.id).toBe(modelId);
  expect(models.list()).toEqual([{ id: modelId, name: 'renamed', format: 'torchvision-maskrcnn', labels: ['bg', 'circle'], card: {}, path: '/moved.onnx', sha256: 'h1' }]);
});

it('finds images still to pre-label through the result index', () => {
  const plan = queryPlan(
    project.store.db,
    `SELECT 1 FROM prelabel_results r WHERE r.model_id = ? AND r.image_id = ? AND r.ok = 1`,
    [1, 1],
  );
  expect(hasFullScan(plan)).toBe(false);
  expect(plan.join()).toMatch(/sqlite_autoindex_prelabel_results_1 \(model_id=\? AND image_id=\?\)/);
});

it('keeps a failed run\'s error through a rescan of the unchanged file, and lets a person review or edit the image', () => {
  const { prelabel, images, review, annotations } = project.store;
  const run = prelabel.start(modelId);
  prelabel.recordOutcomes(run.id, modelId, [
    { imageId: ids[0]!, durationMs: 1, error: 'model: out of memory' },
    { imageId: ids[1]!, durationMs: 1, error: 'model: out of memory' },
  ]);
  // The file touched (a new time, the same bytes): read again by the scan, still the run's failure.
  images.writeFiles([{ id: ids[0]!, file: imageFile('a.jpg', { mtimeMs: 5 }) }]);
  expect(images.get(ids[0]!)).toMatchObject({ status: 'error', error: 'model: out of memory' });
  // Its content changed: a new image to pre-label.
  images.writeFiles([{ id: ids[0]!, file: imageFile('a.jpg', { hash: 'another', mtimeMs: 6 }) }]);
  expect(images.get(ids[0]!)).toMatchObject({ status: 'new', error: null });
  // It decodes, so a person may draw on it or mark it reviewed; a file the scan could not read cannot be.
  annotations.apply(ids[1]!, { added: [{ ...humanBox(ids[1]!, circle), state: 'accepted' }], updated: [], removed: [] });
  expect(images.get(ids[1]!)).toMatchObject({ status: 'in-review', error: null });
  expect(review.markReviewed(ids[1]!, null).image.status).toBe('reviewed');
  expect(() => review.markReviewed(ids[3]!, null)).toThrow(/could not be decoded \(Input file is missing\)/);
});
