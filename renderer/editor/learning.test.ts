// The learning loop in the review session, headless, over the real handlers, the real learning service and a real
// SQLite project: the model table with stored evaluations (set active, apply the suggested threshold), and "Compare
// with reviewed" on an image: what was missed and what is extra, an extra taken as an annotation with one key (one
// undo step), and the list's disagreements filter following it.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cocoEvaluate } from '../../app/eval/cocoeval.js';
import { imagePoint } from '../../app/geometry/points.js';
import { encode } from '../../app/geometry/rle.js';
import { diffOf } from '../../app/history/diff.js';
import { AnnotationId, type Annotation, type CategoryId, type ImageId, type ModelId } from '../../app/model/index.js';
import { learningRecords } from '../../main/learning/records.js';
import type { Services } from '../../main/services/index.js';
import { openProject, type ProjectStore } from '../../main/store/index.js';
import { createTestApi, type TestApi } from '../../main/testing/project-api.test-support.js';
import { servicesOver } from '../../main/testing/services.test-support.js';
import { toScreen } from './camera.js';
import { rectMask } from './fixtures.test-support.js';
import { ReviewSession } from './session.js';

let folder: string;
let store: ProjectStore;
let services: Services;
let api: TestApi;
let session: ReviewSession<string>;
let ids: ImageId[];
let cat: CategoryId;
let models: { old: ModelId; next: ModelId };

function truth(id: string, imageId: ImageId, mask: ReturnType<typeof rectMask>): Annotation {
  const rle = encode(mask);
  const x0 = mask.data.indexOf(1) % mask.width;
  const y0 = Math.floor(mask.data.indexOf(1) / mask.width);
  const side = Math.sqrt(mask.data.reduce((n, v) => n + v, 0));
  return { id: AnnotationId(id), imageId, categoryId: cat, bbox: [x0, y0, side, side], mask: rle, score: null, origin: 'human', modelId: null, state: 'accepted' };
}

/** Registers a model with a card on disk (the table and activation read it) and an evaluation whose figures are real COCOeval output. */
async function modelWithEvaluation(name: string, detectionScore: number): Promise<ModelId> {
  const onnx = path.join(folder, '.loupe', 'models', `${name}.onnx`);
  await writeFile(onnx.replace(/\.onnx$/, '.json'), JSON.stringify({ name, thresholds: { score: 0.5, mask: 0.5 } }));
  const model = store.models.register({ name, format: 'torchvision-maskrcnn', labels: ['bg', 'cat'], card: { thresholds: { score: 0.5, mask: 0.5 } }, path: onnx, sha256: name });
  const input = {
    images: [{ id: 1, width: 40, height: 30 }], categories: [{ id: 1, name: 'cat' }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10] as const }],
    detections: [{ image_id: 1, category_id: 1, score: detectionScore, bbox: [0, 0, 10, 10] as const }, { image_id: 1, category_id: 1, score: 0.3, bbox: [20, 20, 5, 5] as const }],
  };
  const box = cocoEvaluate(input, { iouType: 'bbox', threshold: 0.5 });
  learningRecords(store).addEvaluation({ modelId: model.id, split: 'heldout', imageSet: 'set', images: 1, instances: 1, threshold: 0.5, metrics: { box, mask: box } });
  return model.id;
}

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-learning-session-'));
  store = openProject(folder);
  await mkdir(path.join(folder, '.loupe', 'models'), { recursive: true });
  ids = store.images.writeFiles(['a.jpg', 'b.jpg'].map((file) => ({
    file: { path: file, width: 40, height: 30, orientation: 1, hash: `hash-${file}`, size: 1, mtimeMs: 0, error: null },
  })));
  cat = store.categories.ensure(['cat'])[0]!.id;
  models = { old: await modelWithEvaluation('shapes', 0.9), next: await modelWithEvaluation('shapes-v2', 0.8) };
  // a.jpg reviewed: two instances; the compared model found the first, missed the second and saw one that is not there.
  store.annotations.apply(ids[0]!, diffOf({ added: [truth('found', ids[0]!, rectMask(0, 0, 10, 10)), truth('missed', ids[0]!, rectMask(20, 0, 30, 10))] }), 'human');
  store.review.markReviewed(ids[0]!, null);
  const records = learningRecords(store);
  records.replaceComparison(models.next, [{
    imageId: ids[0]!,
    predictions: [
      { categoryId: cat, bbox: [0, 0, 10, 10], mask: encode(rectMask(0, 0, 10, 10)), score: 0.95 },
      { categoryId: cat, bbox: [5, 18, 8, 8], mask: encode(rectMask(5, 18, 13, 26)), score: 0.7 },
    ],
    counts: { matched: 1, missed: 1, extra: 1, lowOverlap: 0 },
  }]);
  // The real services over this project (no model installed besides the two registered above).
  services = servicesOver(store, {
    models: { shippedDir: path.join(folder, 'no-models'), userDir: path.join(folder, 'no-user-models') },
    emit: (event, payload) => api.emit(event, payload),
  });
  api = createTestApi(services);
  let n = 0;
  session = new ReviewSession(api, { pictures: { get: async (image) => `pixels of ${image.path}` }, newId: () => AnnotationId(`new-${++n}`) });
  session.setViewport({ width: 400, height: 300 });
  await session.start();
});

afterEach(async () => {
  session.dispose();
  await services.close();
  await rm(folder, { recursive: true, force: true });
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await session.whenSaved();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('the model table', () => {
  it('lists each version with its held-out figures; a person sets one active and applies its suggested threshold', async () => {
    session.learning.setTableOpen(true);
    await settle();
    const rows = session.learning.models;
    expect(rows.map((r) => [r.name, r.family, r.version])).toEqual([['shapes', 'shapes', 1], ['shapes-v2', 'shapes', 2]]);
    const v2 = rows[1]!;
    expect(v2.evaluation).toMatchObject({ images: 1, box: { AP: expect.any(Number) }, atThreshold: { precision: 1, recall: 1 } });
    expect(v2.evaluation!.suggested.score).toBe(0.8);
    expect(rows.some((r) => r.active)).toBe(false);

    await session.learning.activate(v2.modelId);
    expect(session.learning.models.find((r) => r.active)?.name).toBe('shapes-v2');
    expect(learningRecords(store).lastActivation()).toMatchObject({ modelId: v2.modelId, reason: 'set active by a person in the model table' });

    session.learning.applySuggested(v2.modelId);
    expect(session.settings.threshold).toBe(0.8);
    expect(session.message).toMatch(/^Threshold 0\.8 \(shapes-v2's suggested/);
    expect(session.keyDown({ key: 'Escape' })).toBe(true);
    expect(session.learning.tableOpen).toBe(false);
  });
});

describe('compare with reviewed', () => {
  it('shows what the model missed and what it added; one key takes the extra under the pointer as an annotation', async () => {
    await session.open(store.images.get(ids[0]!)!);
    await settle();
    expect(session.learning.missed.map((a) => a.id)).toEqual(['missed']);
    expect(session.learning.extras.map((p) => p.bbox)).toEqual([[5, 18, 8, 8]]);
    expect(store.images.list({ disagreements: true, limit: 10 }).items.map((i) => i.path)).toEqual(['a.jpg']);

    session.pointerMove({ screen: toScreen(session.camera, imagePoint(7.5, 20.5)), button: 0 });
    expect(session.learning.hoveredExtra).toBe(session.learning.extras[0]!.id);
    expect(session.keyDown({ key: 't' })).toBe(true);
    await settle();

    const taken = store.annotations.forImage(ids[0]!).find((a) => a.id === 'new-1')!;
    expect(taken).toMatchObject({ origin: 'model', modelId: models.next, state: 'accepted', score: 0.7, bbox: [5, 18, 8, 8] });
    expect(store.history.forAnnotation(AnnotationId('new-1'))).toMatchObject([{ action: 'created', actor: 'human' }]);
    expect(session.learning.extras).toEqual([]);
    // The store's comparison follows the edit: only the missed instance is left to disagree about.
    expect(learningRecords(store).comparisonCounts(ids[0]!)).toEqual({ matched: 2, missed: 1, extra: 0, lowOverlap: 0 });
    expect(store.images.get(ids[0]!)!.status).toBe('reviewed');

    session.undo();
    await settle();
    expect(store.annotations.get(AnnotationId('new-1'))).toBeUndefined();
    expect(session.learning.extras).toHaveLength(1);
    expect(learningRecords(store).comparisonCounts(ids[0]!)).toEqual({ matched: 1, missed: 1, extra: 1, lowOverlap: 0 });

    // Fixed by hand: the missed instance removed (it was a mistake), the extra taken: the image no longer disagrees.
    session.select([AnnotationId('missed')]);
    await session.perform('instance.delete');
    expect(session.keyDown({ key: 't' })).toBe(true);
    await settle();
    expect(store.images.list({ disagreements: true, limit: 10 }).items).toEqual([]);
  });

  it('says so when the image was not compared', async () => {
    await session.open(store.images.get(ids[1]!)!);
    await settle();
    expect(session.learning.comparison).toBeNull();
    session.keyDown({ key: 't' });
    expect(session.message).toBe('This image has no comparison: run Compare with reviewed first');
  });
});
