// The box-prompt tool and re-segmentation, headless: the review session over the real IPC handlers, a real SQLite
// project of generated scenes, and the real prompt worker running the shipped split graphs.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagePoint } from '../../../app/geometry/points.js';
import { area, iou, toBbox } from '../../../app/geometry/rle.js';
import { diffOf } from '../../../app/history/diff.js';
import { AnnotationId, ModelId, type Annotation, type Bbox } from '../../../app/model/index.js';
import { scanFolder } from '../../../main/fs/index.js';
import { writePromptScenes, type PromptScene } from '../../../main/inference/prompt-scenes.js';
import { repoRoot, seededRandom } from '../../../main/inference/testing.js';
import { openProject, type ProjectStore } from '../../../main/store/index.js';
import type { Services } from '../../../main/services/index.js';
import { createTestApi } from '../../../main/testing/project-api.test-support.js';
import { servicesOver } from '../../../main/testing/services.test-support.js';
import { toScreen } from '../camera.js';
import { ReviewSession, type PointerInput } from '../session.js';

const shippedModels = path.join(repoRoot(), 'resources', 'models');
let folder: string;
let store: ProjectStore;
let scenes: PromptScene[];
let services: Services | undefined;
let session: ReviewSession<string>;

/** A session over the real services, whose shipped models are those of `shippedDir`. */
async function startSession(shippedDir: string): Promise<void> {
  services = servicesOver(store, { models: { shippedDir, userDir: path.join(folder, '.no-user-models') }, prompt: { provider: 'cpu' } });
  const api = createTestApi(services);
  let n = 0;
  session = new ReviewSession(api, { pictures: { get: async (image) => `pixels of ${image.path}` }, newId: () => AnnotationId(`new-${++n}`) });
  session.setViewport({ width: 800, height: 600 });
  await session.start();
}

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-box-prompt-'));
  scenes = await writePromptScenes(folder, seededRandom(31), 2, { maxShapes: 3 });
  store = openProject(folder);
  await scanFolder(store);
  store.categories.ensure(['circle', 'rectangle', 'triangle', 'star']);
});

afterEach(async () => {
  session?.dispose();
  await services?.close();
  services = undefined;
  store.close();
  await rm(folder, { recursive: true, force: true });
});

const at = (x: number, y: number, extra: Partial<PointerInput> = {}): PointerInput => ({ screen: toScreen(session.camera, imagePoint(x, y)), button: 0, ...extra });

function drag(from: readonly [number, number], to: readonly [number, number], extra: Partial<PointerInput> = {}): void {
  session.pointerDown(at(...from, extra));
  session.pointerMove(at((from[0] + to[0]) / 2, (from[1] + to[1]) / 2, extra));
  session.pointerMove(at(...to, extra));
  session.pointerUp(at(...to, extra));
}

/** Waits until the session has no box on its way to the model and every edit is saved. */
async function answered(): Promise<void> {
  await expect.poll(() => session.prompts.pending.length).toBe(0);
  await session.whenSaved();
}

const imageOf = (scene: PromptScene) => store.images.getByPath(path.basename(scene.file))!;
const corners = ([x, y, w, h]: Bbox) => [[x, y], [x + w, y + h]] as const;

describe('with split graphs for the active model', () => {
  beforeEach(() => startSession(shippedModels));

  it('W picks the tool; a box dragged around a shape becomes a prompted instance with its mask and class, one undo step', async () => {
    await expect.poll(() => session.prompts.unavailable).toBeNull();
    session.keyDown({ key: 'w' });
    expect(session.toolState).toBe('prompt.idle');
    const scene = scenes.find((s) => s.file.endsWith(session.image!.path))!;
    const target = scene.cases[0]!;
    const [from, to] = corners(target.box);
    drag(from, to);
    expect(session.prompts.pending).toHaveLength(1);
    await answered();
    const made = session.annotations.find((a) => a.origin === 'prompted')!;
    expect(made).toMatchObject({ state: 'pending', id: 'new-1' });
    expect(session.categories.find((c) => c.id === made.categoryId)?.name).toBe(target.kind);
    expect(iou(made.mask!, target.truth)).toBeGreaterThan(0.85);
    expect(made.bbox).toEqual(toBbox(made.mask!));
    expect(made.modelId).not.toBeNull();
    expect(session.selection).toEqual([made.id]);
    expect(store.annotations.get(made.id)).toEqual(made);
    // The other classes are offered; taking one is an edit that accepts the instance.
    const choices = session.prompts.classChoices(made.id);
    expect(choices.map((c) => c.label).sort()).toEqual(['circle', 'rectangle', 'star', 'triangle']);
    expect(choices[0]).toMatchObject({ categoryId: made.categoryId, score: made.score });
    session.document!.setCategory([made.id], choices[1]!.categoryId);
    await session.whenSaved();
    expect(store.annotations.get(made.id)).toMatchObject({ categoryId: choices[1]!.categoryId, state: 'accepted', origin: 'prompted' });
    session.undo();
    session.undo();
    await session.whenSaved();
    expect(session.annotations.some((a) => a.id === made.id)).toBe(false);
    expect(store.annotations.get(made.id)).toBeUndefined();
  });

  it('a resized prediction\'s mask follows the object in its new box instead of stretching; Shift still scales it', async () => {
    await expect.poll(() => session.prompts.unavailable).toBeNull();
    const image = session.image!;
    const scene = scenes.find((s) => s.file.endsWith(image.path))!;
    const target = scene.cases[0]!;
    const bbox = toBbox(target.truth);
    const model = store.models.list()[0]!;
    const prediction: Annotation = {
      id: AnnotationId('pred'), imageId: image.id, categoryId: store.categories.getByName(target.kind)!.id, bbox, mask: target.truth,
      score: 0.9, origin: 'model', modelId: ModelId(model.id), state: 'pending',
    };
    store.annotations.apply(image.id, diffOf({ added: [prediction] }), 'model');
    await session.open(image, { keepView: true });
    session.select([prediction.id]);
    // Drag the east handle out by 80% of the width, over background.
    const [x, y, w, h] = bbox;
    const east: [number, number] = [x + w, y + h / 2];
    const wider = Math.min(image.width - 1, x + w * 1.8);
    drag(east, [wider, y + h / 2]);
    await answered();
    const resized = session.document!.get(prediction.id)!;
    expect(resized.origin).toBe('model-edited');
    expect(iou(resized.mask!, target.truth)).toBeGreaterThan(0.85);
    expect(area(resized.mask!)).toBeLessThan(area(target.truth) * 1.2);
    expect(store.annotations.get(prediction.id)).toEqual(resized);
    session.undo();
    await session.whenSaved();
    expect(store.annotations.get(prediction.id)).toMatchObject({ bbox, mask: target.truth, origin: 'model' });
    // With Shift the mask is scaled with the box, as before box prompts.
    drag(east, [wider, y + h / 2], { shift: true });
    await answered();
    expect(area(session.document!.get(prediction.id)!.mask!)).toBeGreaterThan(area(target.truth) * 1.5);
  });

  it('a prediction moved onto another shape takes that shape\'s mask', async () => {
    await expect.poll(() => session.prompts.unavailable).toBeNull();
    const image = session.image!;
    const scene = scenes.find((s) => s.file.endsWith(image.path) && s.cases.length >= 2) ?? scenes.find((s) => s.cases.length >= 2)!;
    if (!scene.file.endsWith(image.path)) await session.open(imageOf(scene));
    const [first, second] = scene.cases as [(typeof scene.cases)[0], (typeof scene.cases)[0]];
    const model = store.models.list()[0]!;
    const prediction: Annotation = {
      id: AnnotationId('moved'), imageId: session.image!.id, categoryId: store.categories.getByName(first.kind)!.id, bbox: toBbox(first.truth),
      mask: first.truth, score: 0.8, origin: 'model', modelId: ModelId(model.id), state: 'pending',
    };
    store.annotations.apply(session.image!.id, diffOf({ added: [prediction] }), 'model');
    await session.open(session.image!, { keepView: true });
    session.select([prediction.id]);
    const [ax, ay, aw, ah] = toBbox(first.truth);
    const [bx, by, bw, bh] = toBbox(second.truth);
    // Grab the box by its middle, drop it with its middle on the other shape's.
    drag([ax + aw / 2, ay + ah / 2], [bx + bw / 2, by + bh / 2]);
    await answered();
    const moved = session.document!.get(prediction.id)!;
    expect(iou(moved.mask!, second.truth)).toBeGreaterThan(0.6);
    expect(iou(moved.mask!, first.truth)).toBeLessThan(0.1);
  });
});

describe('without split graphs', () => {
  beforeEach(async () => {
    // The shipped default alone, without its split graphs.
    const fullOnly = path.join(folder, '.full-only');
    await mkdir(fullOnly);
    for (const file of ['loupe-shapes.json', 'loupe-shapes.onnx']) await copyFile(path.join(shippedModels, file), path.join(fullOnly, file));
    await startSession(fullOnly);
  });

  it('the tool stays off and says why; resizing a prediction clips its mask as before', async () => {
    await expect.poll(() => session.prompts.unavailable).toMatch(/^loupe-shapes has no split graph: box prompts need/);
    session.keyDown({ key: 'w' });
    expect(session.settings.tool).toBe('select');
    expect(session.message).toBe(session.prompts.unavailable);
    const image = session.image!;
    const target = scenes.find((s) => s.file.endsWith(image.path))!.cases[0]!;
    const bbox = toBbox(target.truth);
    const prediction: Annotation = {
      id: AnnotationId('pred'), imageId: image.id, categoryId: session.categories[0]?.id ?? store.categories.ensure(['thing'])[0]!.id, bbox,
      mask: target.truth, score: 0.9, origin: 'model', modelId: ModelId(store.models.list()[0]!.id), state: 'pending',
    };
    store.annotations.apply(image.id, diffOf({ added: [prediction] }), 'model');
    await session.open(image, { keepView: true });
    session.select([prediction.id]);
    const [x, y, w, h] = bbox;
    drag([x + w, y + h / 2], [x + w / 2, y + h / 2]);
    await session.whenSaved();
    expect(session.prompts.pending).toHaveLength(0);
    const clipped = session.document!.get(prediction.id)!;
    expect(toBbox(clipped.mask!)[2]).toBeLessThanOrEqual(w / 2 + 1);
  });
});
