import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../app/geometry/rle.js';
import { invert } from '../../app/history/diff.js';
import type { Reply, Res } from '../../app/ipc/contract.js';
import { AnnotationId, type Annotation, type ImageRecord } from '../../app/model/index.js';
import { writeImage } from '../fs/images.test-support.js';
import { scanFolder } from '../fs/index.js';
import { openProject, type ProjectStore } from '../store/index.js';
import type { Services } from '../services/index.js';
import { dispatcherOver, servicesOver } from '../testing/services.test-support.js';
import type { Dispatch } from './dispatcher.js';

let folder: string;
let store: ProjectStore;
let services: Services;
let dispatch: Dispatch;

async function call<T = unknown>(channel: string, request: unknown): Promise<T> {
  const reply = (await dispatch(channel, request)) as Reply<T>;
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.value;
}

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-handlers-'));
  for (const [i, name] of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'].entries()) await writeImage(folder, name, { width: 8, height: 6, seed: i });
  store = openProject(folder);
  await scanFolder(store);
  // No model installed: these tests never start a run.
  services = servicesOver(store, { models: { shippedDir: path.join(folder, 'no-models'), userDir: path.join(folder, 'no-user-models') } });
  dispatch = dispatcherOver(services);
});

afterAll(async () => {
  await services.close();
  await rm(folder, { recursive: true, force: true });
});

describe('project handlers on a real store', () => {
  it('pages images by keyset and filters by status and name', async () => {
    const first = await call<{ items: ImageRecord[]; next: string | null }>('images.list', { limit: 3 });
    expect(first.items.map((i) => i.path)).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    const second = await call<{ items: ImageRecord[]; next: string | null }>('images.list', { limit: 3, after: first.next });
    expect(second).toMatchObject({ items: [{ path: 'd.jpg' }], next: null });
    expect((await call<{ items: ImageRecord[] }>('images.list', { limit: 10, filter: { search: 'C.J' } })).items.map((i) => i.path)).toEqual(['c.jpg']);
  });

  it('goes to the next image needing review, wrapping around, and none when all are reviewed', async () => {
    const [a, b, c, d] = (await call<{ items: ImageRecord[] }>('images.list', { limit: 10 })).items;
    await call('images.setStatus', { id: c!.id, status: 'reviewed' });
    expect(await call('images.nextToReview', { afterPath: 'b.jpg' })).toMatchObject({ image: { path: 'd.jpg' } });
    expect(await call('images.nextToReview', { afterPath: 'd.jpg' })).toMatchObject({ image: { path: 'a.jpg' } });
    for (const image of [a, b, d]) await call('images.setStatus', { id: image!.id, status: 'reviewed' });
    expect(await call('images.nextToReview', { afterPath: 'a.jpg' })).toEqual({ image: null });
    expect((await call<{ byStatus: Record<string, number> }>('project.summary', {})).byStatus.reviewed).toBe(4);
    await call('images.setStatus', { id: a!.id, status: 'in-review' });
  });

  it('applies an edit with its before/after in one step, and refuses one that does not fit', async () => {
    const [image] = (await call<{ items: ImageRecord[] }>('images.list', { limit: 1 })).items;
    const cat = await call<{ id: number }>('categories.create', { name: 'cat' });
    await expect(call('categories.create', { name: 'cat' })).rejects.toThrow(/conflict: a class named 'cat' already exists/);
    const mask = { width: 8, height: 6, data: new Uint8Array(48).fill(1) };
    const added: Annotation = {
      id: AnnotationId('11111111-1111-4111-8111-111111111111'), imageId: image!.id, categoryId: cat.id as never,
      bbox: [0, 0, 8, 6], mask: encode(mask), score: null, origin: 'human', modelId: null, state: 'accepted',
    };
    const afterAdd = await call<{ annotations: Annotation[] }>('annotations.apply', { imageId: image!.id, changes: { added: [added], updated: [], removed: [] } });
    expect(afterAdd.annotations).toEqual([added]);
    const moved = { ...added, bbox: [1, 1, 7, 5] as const };
    await call('annotations.apply', { imageId: image!.id, changes: { added: [], updated: [{ before: added, after: moved }], removed: [] } });
    expect(store.history.forAnnotation(added.id).map((h) => h.action)).toEqual(['created', 'updated']);
    // An edit made against what has since changed is a conflict the UI can explain, refused whole.
    await expect(call('annotations.apply', { imageId: image!.id, changes: { added: [], updated: [{ before: added, after: { ...added, bbox: [2, 2, 6, 4] } }], removed: [] } }))
      .rejects.toThrow(`conflict: annotation ${added.id}: this annotation changed elsewhere since it was loaded`);
    // Removing it twice: the second is refused whole and changes nothing.
    await call('annotations.apply', { imageId: image!.id, changes: { added: [], updated: [], removed: [moved] } });
    await expect(call('annotations.apply', { imageId: image!.id, changes: { added: [], updated: [], removed: [moved] } })).rejects.toThrow(/conflict: .*changed elsewhere since it was loaded/);
    expect(await call('annotations.list', { imageId: image!.id })).toEqual({ annotations: [] });
    await expect(call('annotations.list', { imageId: 999 })).rejects.toThrow(/not-found: image 999 does not exist/);
  });

  it('marks an image reviewed, saying what it accepted and rejected, and undoes it in one apply', async () => {
    const image = store.images.getByPath('b.jpg')!;
    await call('images.setStatus', { id: image.id, status: 'new' });
    const [cat] = store.categories.ensure(['cat']);
    const model = store.models.register({ name: 'shapes', format: 'torchvision-maskrcnn', labels: ['bg', 'cat'], card: {}, path: '/m.onnx', sha256: 'review' });
    const predictions = store.annotations.replaceModelPredictions(image.id, model.id, [0.9, 0.8, 0.3].map((score, i) => ({
      categoryId: cat!.id, bbox: [i, 0, 1, 1] as const, mask: null, score,
    }))).annotations;
    const before = await call<{ annotations: Annotation[] }>('annotations.list', { imageId: image.id });

    const result = await call<Res<'review.markReviewed'>>('review.markReviewed', { imageId: image.id, threshold: 0.5 });
    expect(result).toMatchObject({ accepted: 2, rejected: 1, kept: 0, dropped: 0, previousStatus: 'new', image: { status: 'reviewed' } });
    expect(result.changes.updated.map((u) => [u.before.id, u.after.state])).toEqual([
      [predictions[0]!.id, 'accepted'], [predictions[1]!.id, 'accepted'], [predictions[2]!.id, 'rejected'],
    ]);

    const undo = invert(result.changes);
    await call('annotations.apply', { imageId: image.id, changes: undo, status: result.previousStatus });
    expect(await call('annotations.list', { imageId: image.id })).toEqual(before);
    expect(await call('images.get', { id: image.id })).toMatchObject({ status: 'new' });

    // Without a view (the plain status change) nothing counts as shown: every pending prediction is rejected.
    await call('images.setStatus', { id: image.id, status: 'reviewed' });
    const settled = await call<{ annotations: Annotation[] }>('annotations.list', { imageId: image.id });
    expect(settled.annotations.map((a) => a.state)).toEqual(['rejected', 'rejected', 'rejected']);
    // A reviewed image cannot be given a pending prediction back.
    await expect(call('annotations.apply', {
      imageId: image.id, changes: { added: [], updated: [{ before: settled.annotations[0], after: { ...settled.annotations[0], state: 'pending' } }], removed: [] },
    })).rejects.toThrow(/a reviewed image cannot hold a pending prediction/);
  });

  it('refuses masks that do not decode or do not fit the image at the boundary, storing nothing', async () => {
    const image = store.images.getByPath('c.jpg')!;
    const [cat] = store.categories.ensure(['cat']);
    const base = { imageId: image.id, categoryId: cat!.id, bbox: [0, 0, 1, 1], score: null, origin: 'human', modelId: null, state: 'accepted' };
    const garbage = { ...base, id: 'garbage', mask: { size: [6, 8], counts: 'zzzz' } };
    const tooBig = { ...base, id: 'too-big', mask: encode({ width: 9, height: 6, data: new Uint8Array(54) }) };
    await expect(call('annotations.apply', { imageId: image.id, changes: { added: [garbage], updated: [], removed: [] } })).rejects.toThrow(
      /annotation garbage: mask does not decode: RLE string has an invalid character "z"/,
    );
    await expect(call('annotations.apply', { imageId: image.id, changes: { added: [tooBig], updated: [], removed: [] } })).rejects.toThrow(
      'annotation too-big: mask is 6 x 9 but its image is 6 x 8 (height x width)',
    );
    expect(await call('annotations.list', { imageId: image.id })).toEqual({ annotations: [] });
    expect(store.history.forImage(image.id)).toEqual([]);
  });

  it('exports the reviewed truth to a .json file main\'s dialog chose or under .loupe/exports, and refuses other names', async () => {
    const out = path.join(folder, 'export.json');
    const reviewed = (await call<{ items: ImageRecord[] }>('images.list', { limit: 10, filter: { status: 'reviewed' } })).items;
    const result = await call<Res<'export.coco'>>('export.coco', { file: services.files.grant('export-coco', out).handle });
    expect(result).toMatchObject({ path: out, images: reviewed.length, pending: 0, holes: 0, leftOut: [], staleLeftOut: [] });
    expect(JSON.parse(await readFile(out, 'utf8')).images).toHaveLength(reviewed.length);
    // The older request form still works: reviewedOnly false is every image.
    const fallback = await call<Res<'export.coco'>>('export.coco', { reviewedOnly: false });
    expect(fallback.path.startsWith(path.join(folder, '.loupe', 'exports'))).toBe(true);
    expect(fallback.images).toBe(4);
    await expect(call('export.coco', { file: services.files.grant('export-coco', path.join(folder, 'x.txt')).handle })).rejects.toThrow(/^invalid-request: export path must end in \.json: x\.txt$/);
  });

  it('shows a run another process holds, and refuses to start one beside it', async () => {
    expect(await call('prelabel.active', {})).toEqual({ run: null });
    const cli = openProject(folder);
    const lock = cli.runLock.acquire();
    try {
      lock.update({ state: 'running', total: 4, done: 1 });
      const { run } = await call<Res<'prelabel.active'>>('prelabel.active', {});
      expect(run).toMatchObject({ pid: process.pid, state: 'running', total: 4, done: 1, failed: 0, ownedHere: false });
      await expect(call('prelabel.start', {})).rejects.toThrow(
        /^conflict: a pre-label run is already in progress \(pid \d+, started \d\d:\d\d\)$/,
      );
    } finally {
      lock.release();
      cli.close();
    }
    expect(await call('prelabel.active', {})).toEqual({ run: null });
  });

  it('names each model short and in full', async () => {
    store.models.register({ name: 'loupe-shapes-zoo', format: 'onnx-zoo-maskrcnn', labels: ['bg'], card: {}, path: '/z.onnx', sha256: 'zoo' });
    const { models } = await call<Res<'models.list'>>('models.list', {});
    expect(models.map((m) => [m.name, m.shortName])).toEqual([['shapes', 'shapes'], ['loupe-shapes-zoo', 'zoo']]);
  });

  it('rescans the folder: a new file is added, a second request at once shares the same scan', async () => {
    await writeImage(folder, 'e.jpg', { width: 8, height: 6, seed: 9 });
    const [first, second] = await Promise.all([call<Res<'project.rescan'>>('project.rescan', {}), call<Res<'project.rescan'>>('project.rescan', {})]);
    expect(first).toEqual({ files: 5, added: 1, changed: 0, moved: 0, missing: 0, errors: 0 });
    expect(second).toEqual(first);
    expect((await call<{ items: ImageRecord[] }>('images.list', { limit: 10 })).items.map((i) => i.path)).toContain('e.jpg');
    expect(await call('project.rescan', {})).toMatchObject({ files: 5, added: 0 });
  });

  it('keeps the review settings in the project; a stored field that no longer parses is dropped alone', async () => {
    expect(await call('project.settings', {})).toEqual({ settings: {} });
    const settings = { tool: 'brush', threshold: 0.3, hiddenCategories: [1], imageFilter: { status: 'new' }, imageId: 2 };
    expect(await call('project.saveSettings', { settings })).toEqual({ ok: true });
    expect(await call('project.settings', {})).toEqual({ settings });
    // Reopened from the file, as the next session would.
    const again = openProject(folder);
    try {
      expect(again.meta.get('review-settings')).toEqual(settings);
      again.meta.set('review-settings', { ...settings, threshold: 7, opacity: 'half' });
    } finally {
      again.close();
    }
    expect(await call('project.settings', {})).toEqual({ settings: { tool: 'brush', hiddenCategories: [1], imageFilter: { status: 'new' }, imageId: 2 } });
    await expect(call('project.saveSettings', { settings: { threshold: 2 } })).rejects.toThrow(/^invalid-request: /);
  });

  it('answers box-prompt and learning requests that name nothing there with the domain\'s codes', async () => {
    const [image] = (await call<{ items: ImageRecord[] }>('images.list', { limit: 1 })).items;
    expect(await call('prompt.status', {})).toEqual({ available: false, reason: 'no model is installed; import one first', modelId: null, split: null });
    await expect(call('prompt.prepare', { imageId: 999 })).rejects.toThrow(/^not-found: image 999 does not exist$/);
    await expect(call('prompt.segment', { imageId: image!.id, boxes: [[1, 1, 2, 2]] })).rejects.toThrow(/^conflict: no model is installed/);
    const table = await call<Res<'learning.models'>>('learning.models', {});
    expect(table.job).toBeNull();
    expect(table.models.find((row) => row.name === 'shapes')).toMatchObject({ family: 'shapes', version: 1, active: false, evaluation: null });
    const [shapes] = store.models.list();
    await expect(call('learning.activate', { modelId: shapes!.id })).rejects.toThrow(/^not-found: the card of shapes is no longer at /);
    await expect(call('learning.activate', { modelId: 999 })).rejects.toThrow(/^not-found: model 999 does not exist$/);
    await expect(call('learning.compare', {})).rejects.toThrow(/^not-found: no model to compare/);
    await expect(call('learning.cancel', {})).rejects.toThrow(/^not-found: no learning job is running$/);
    expect(await call('learning.comparison', { imageId: image!.id })).toEqual({ comparison: null });
    await expect(call('learning.comparison', { imageId: 999 })).rejects.toThrow(/^not-found: image 999 does not exist$/);
  });

  it('says what is missing when no model is installed rather than failing obscurely', async () => {
    await expect(call('prelabel.start', {})).rejects.toThrow(/^not-found: no model is installed; import one first$/);
  });
});
