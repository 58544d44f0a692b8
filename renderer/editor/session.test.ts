// The review session headless, over the real IPC handlers and a real SQLite project: keys and pointer
// input in (as the views dispatch them), what the screen would show and what the store holds out.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagePoint, screenPoint } from '../../app/geometry/points.js';
import { encode } from '../../app/geometry/rle.js';
import { AnnotationId, RunId, type Annotation, type ImageRecord } from '../../app/model/index.js';
import { diffOf } from '../../app/history/diff.js';
import { cocoExportOptionsSchema, datasetExportOptionsSchema, type RunProgress } from '../../app/ipc/contract.js';
import { repoRoot } from '../../main/bridge/serve.js';
import { writeImage } from '../../main/fs/images.test-support.js';
import { scanFolder } from '../../main/fs/index.js';
import type { Services } from '../../main/services/index.js';
import { openProject, type ProjectStore } from '../../main/store/index.js';
import { createTestApi, type TestApi } from '../../main/testing/project-api.test-support.js';
import { servicesOver } from '../../main/testing/services.test-support.js';
import { toScreen } from './camera.js';
import { rectMask } from './fixtures.test-support.js';
import { instanceLabel, staleNote } from './labels.js';
import { countSet } from './mask-ops.js';
import { ReviewSession, type PointerInput, type Topic } from './session.js';
import { describeExport } from './transfers.js';

let folder: string;
let store: ProjectStore;
let services: Services;
let api: TestApi;
let session: ReviewSession<string>;
let topics: Topic[];
/** Images whose pixels fail to load. */
const broken = new Set<string>();
let ids: number[];

const big = AnnotationId('big');

function prediction(id: string, imageId: number, mask: ReturnType<typeof rectMask>, score: number, categoryId = 1): Annotation {
  const [x0, y0] = [mask.data.indexOf(1) % mask.width, Math.floor(mask.data.indexOf(1) / mask.width)];
  const n = Math.sqrt(countSet(mask));
  return {
    id: AnnotationId(id), imageId: imageId as never, categoryId: categoryId as never, bbox: [x0, y0, n, n], mask: encode(mask), score,
    origin: 'model', modelId: 1 as never, state: 'pending',
  };
}

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-session-'));
  store = openProject(folder);
  ids = store.images.writeFiles(['a.jpg', 'b.jpg', 'c.jpg'].map((file) => ({
    file: { path: file, width: 40, height: 30, orientation: 1, hash: `hash-${file}`, size: 1, mtimeMs: 0, error: null },
  })));
  store.categories.ensure(['cat', 'dog']);
  store.models.register({ name: 'm', format: 'torchvision-maskrcnn', labels: ['bg', 'cat', 'dog'], card: {}, path: path.join(folder, 'm.onnx'), sha256: 'm' });
  // a.jpg: 'big' covers [0, 20)^2, 'small' [5, 10)^2 above it, 'faint' scores below the default threshold.
  store.annotations.apply(ids[0]! as never, {
    added: [
      prediction('big', ids[0]!, rectMask(0, 0, 20, 20), 0.9),
      prediction('small', ids[0]!, rectMask(5, 5, 10, 10), 0.6, 2),
      prediction('faint', ids[0]!, rectMask(30, 20, 36, 26), 0.1),
    ],
    updated: [],
    removed: [],
  }, 'model');
  // The real services over this project; no model is installed.
  services = servicesOver(store, { models: noModels() });
  api = createTestApi(services);
  broken.clear();
  let n = 0;
  session = new ReviewSession(api, {
    pictures: { get: async (image) => (broken.has(image.path) ? Promise.reject(new Error('no pixels')) : `pixels of ${image.path}`) },
    newId: () => AnnotationId(`new-${++n}`),
    otherRunPollMs: 0,
  });
  topics = [];
  session.subscribe((changed) => topics.push(...changed));
  session.setViewport({ width: 400, height: 300 });
  await session.start();
});

afterEach(async () => {
  session.dispose();
  await services.close();
  store.close();
  await rm(folder, { recursive: true, force: true });
});

/** Model folders with no model in them. */
const noModels = (under = folder) => ({ shippedDir: path.join(under, 'no-models'), userDir: path.join(under, 'no-user-models') });

/** The screen point showing image pixel (x, y). */
const at = (x: number, y: number, extra: Partial<PointerInput> = {}): PointerInput => ({ screen: toScreen(session.camera, imagePoint(x, y)), button: 0, ...extra });

function drag(points: [number, number][], extra: Partial<PointerInput> = {}): string[] {
  const states: string[] = [];
  session.pointerDown(at(...points[0]!, extra));
  states.push(session.toolState);
  for (const p of points.slice(1)) {
    session.pointerMove(at(...p, extra));
    states.push(session.toolState);
  }
  session.pointerUp(at(...points.at(-1)!, extra));
  states.push(session.toolState);
  return states;
}

const click = (x: number, y: number, extra: Partial<PointerInput> = {}) => drag([[x, y]], extra);
const key = (k: string, mods: { ctrlKey?: boolean; shiftKey?: boolean } = {}) => session.keyDown({ key: k, ...mods });
const stored = (id: string) => store.annotations.get(AnnotationId(id));

/** Waits until the session's background work (saves, refreshes, reloads) has settled. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await session.whenSaved();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('opening a project', () => {
  it('opens the first image needing review, fitted to the canvas, with its classes, models and list', () => {
    expect(session.image?.path).toBe('a.jpg');
    expect(session.picture).toBe('pixels of a.jpg');
    expect(session.annotations.map((a) => a.id)).toEqual(['big', 'small', 'faint']);
    expect(session.categories.map((c) => c.name)).toEqual(['cat', 'dog']);
    expect(session.settings.activeCategory).toBe(session.categories[0]!.id);
    expect(session.images.items.map((i) => i.path)).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(session.summary?.total).toBe(3);
    expect(session.camera).toEqual({ scale: 9.8, x: 4, y: 3 });
    expect(topics).toEqual(expect.arrayContaining(['project', 'list', 'image', 'annotations', 'camera']));
  });

  it('an image whose pixels cannot be loaded still opens, and says why', async () => {
    broken.add('b.jpg');
    await session.step(1);
    expect(session.image?.path).toBe('b.jpg');
    expect(session.picture).toBeNull();
    expect(session.message).toBe('Could not load the pixels of b.jpg');
  });
});

describe('pointer and keys', () => {
  it('clicks select and cycle; Shift-click adds; a click on nothing clears', () => {
    expect(click(7, 7)).toEqual(['select.pointing', 'select.idle']);
    expect(session.selection).toEqual(['small']);
    click(7, 7);
    expect(session.selection).toEqual(['big']);
    click(7, 7, { shift: true });
    expect(session.selection).toEqual(['big', 'small']);
    expect(session.primary).toBe('small');
    click(38, 2);
    expect(session.selection).toEqual([]);
  });

  it('a prediction below the threshold is neither shown nor picked; lowering the threshold shows it', () => {
    click(32, 22);
    expect(session.selection).toEqual([]);
    expect(session.isVisible(session.document!.get(AnnotationId('faint'))!)).toBe(false);
    session.updateSettings({ threshold: 0.05 });
    click(32, 22);
    expect(session.selection).toEqual(['faint']);
  });

  it('the class filter hides other classes on the canvas as it filters the list', async () => {
    const dog = session.categories[1]!.id;
    await session.setImageFilter({ categoryId: dog });
    expect(session.images.items.map((i) => i.path)).toEqual(['a.jpg']);
    expect(session.annotations.filter((a) => session.isVisible(a)).map((a) => a.id)).toEqual(['small']);
    click(15, 15);
    expect(session.selection).toEqual([]);
  });

  it('dragging a selected instance moves it and its mask, saved as one undoable edit', async () => {
    click(7, 7);
    expect(drag([[7, 7], [9, 8], [11, 10]])).toEqual(['select.pointing', 'select.translating', 'select.translating', 'select.idle']);
    await settle();
    expect(stored('small')).toMatchObject({ bbox: [9, 8, 5, 5], origin: 'model-edited', state: 'accepted' });
    expect(key('z', { ctrlKey: true })).toBe(true);
    await settle();
    expect(stored('small')).toMatchObject({ bbox: [5, 5, 5, 5], origin: 'model', state: 'pending' });
    expect(session.selection).toEqual(['small']);
  });

  it('a resize handle resizes; the mask is clipped to the new box unless Shift scales it', async () => {
    click(15, 15);
    expect(session.selection).toEqual(['big']);
    expect(session.preview).toEqual({ kind: 'transform', boxes: [], handles: [0, 0, 20, 20] });
    expect(drag([[20, 20], [25, 28]])).toEqual(['select.pointing_handle', 'select.resizing', 'select.idle']);
    await settle();
    expect(stored('big')!.bbox).toEqual([0, 0, 25, 28]);
    expect(countSet(session.document!.mask(big)!)).toBe(400);
    drag([[25, 28], [10, 10]], { shift: true });
    await settle();
    expect(stored('big')!.bbox).toEqual([0, 0, 10, 10]);
    expect(countSet(session.document!.mask(big)!)).toBeGreaterThan(50);
    expect(countSet(session.document!.mask(big)!)).toBeLessThan(100);
  });

  it('a marquee selects several; A accepts them all and Delete removes them all, each one edit', async () => {
    session.updateSettings({ threshold: 0.05 });
    drag([[39, 29], [1, 1]]);
    expect(session.selection).toEqual(['big', 'small', 'faint']);
    key('a');
    await settle();
    expect(['big', 'small', 'faint'].map((id) => stored(id)!.state)).toEqual(['accepted', 'accepted', 'accepted']);
    key('Delete');
    await settle();
    expect(store.annotations.forImage(ids[0]! as never)).toEqual([]);
    expect(session.selection).toEqual([]);
    key('z', { ctrlKey: true });
    await settle();
    expect(store.annotations.forImage(ids[0]! as never)).toHaveLength(3);
  });

  it('space-drag and the middle button pan without editing; the tool never sees the press', async () => {
    const before = session.camera;
    click(7, 7);
    expect(key(' ')).toBe(true);
    expect(session.cursor).toBe('grab');
    session.pointerDown(at(7, 7));
    expect(session.cursor).toBe('grabbing');
    session.pointerMove({ screen: screenPoint(at(7, 7).screen.x + 40, at(7, 7).screen.y + 25), button: 0 });
    session.pointerUp({ screen: screenPoint(0, 0), button: 0 });
    session.keyUp({ key: ' ' });
    expect(session.camera).toEqual({ ...before, x: before.x + 40, y: before.y + 25 });
    const p = at(10, 10);
    session.pointerDown({ ...p, button: 1 });
    session.pointerMove({ screen: screenPoint(p.screen.x - 40, p.screen.y - 25), button: 1 });
    session.pointerUp({ ...p, button: 1 });
    expect(session.camera.x).toBeCloseTo(before.x);
    expect(session.camera.y).toBeCloseTo(before.y);
    await settle();
    expect(session.document!.canUndo).toBe(false);
    expect(session.toolState).toBe('select.idle');
  });

  it('keys pick tools and classes; a class key reclassifies the selection; Escape deselects', async () => {
    key('b');
    expect(session.toolState).toBe('box.idle');
    drag([[22, 2], [30, 10]]);
    const drawn = session.primary!;
    await settle();
    expect(stored(drawn)).toMatchObject({ bbox: [22, 2, 8, 8], origin: 'human', categoryId: session.categories[0]!.id });
    key('2');
    await settle();
    expect(stored(drawn)!.categoryId).toBe(session.categories[1]!.id);
    expect(session.settings.activeCategory).toBe(session.categories[1]!.id);
    key('Escape');
    expect(session.selection).toEqual([]);
  });

  it('the polygon tool keeps Enter and Escape while drawing; Tab walks through the visible instances', async () => {
    key('p');
    for (const [x, y] of [[22, 2], [34, 2], [34, 12]] as const) click(x, y);
    expect(session.toolState).toBe('polygon.drawing');
    expect(key('Enter')).toBe(true);
    await settle();
    expect(session.toolState).toBe('polygon.idle');
    expect(session.annotations).toHaveLength(4);
    expect(session.image?.status).not.toBe('reviewed'); // Enter closed the polygon, it did not mark the image
    key('v');
    key('Escape');
    key('Tab');
    expect(session.selection).toEqual(['big']);
    key('Tab');
    expect(session.selection).toEqual(['small']);
  });

  it('zooms with the wheel around the pointer; fit and reveal', () => {
    const p = at(10, 10);
    session.wheel({ screen: p.screen, deltaX: 0, deltaY: -300 });
    expect(session.camera.scale).toBeGreaterThan(9.8 * 1.5);
    expect(toScreen(session.camera, imagePoint(10, 10))).toEqual(expect.objectContaining({ x: expect.closeTo(p.screen.x, 6), y: expect.closeTo(p.screen.y, 6) }));
    for (let i = 0; i < 5; i++) session.zoomBy(2, screenPoint(0, 0));
    session.selectAndReveal(AnnotationId('faint'));
    const centre = toScreen(session.camera, imagePoint(33, 23));
    expect(centre.x).toBeCloseTo(200);
    expect(centre.y).toBeCloseTo(150);
    key('0');
    expect(session.camera).toEqual({ scale: 9.8, x: 4, y: 3 });
  });

  it('? toggles the shortcuts; Escape closes them first', () => {
    click(7, 7);
    key('?');
    expect(session.helpOpen).toBe(true);
    key('Escape');
    expect(session.helpOpen).toBe(false);
    expect(session.selection).toEqual(['small']);
  });
});

describe('images and history', () => {
  it('each image keeps its undo history when the review moves on and comes back', async () => {
    click(7, 7);
    key('Delete');
    key('d');
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    key('s');
    await settle();
    expect(session.image?.path).toBe('a.jpg');
    expect(session.annotations.map((a) => a.id)).toEqual(['big', 'faint']);
    key('z', { ctrlKey: true });
    await settle();
    expect(stored('small')).toBeDefined();
  });

  it('Enter settles the image as shown, marks it reviewed and opens the next one needing review; at the end it says so', async () => {
    key('Enter');
    await settle();
    expect(store.images.get(ids[0]! as never)!.status).toBe('reviewed');
    // Shown at the threshold: accepted; 'faint' (below it) rejected. No pending prediction is left on a reviewed image.
    expect(Object.fromEntries(store.annotations.forImage(ids[0]! as never).map((a) => [a.id, a.state]))).toEqual({
      big: 'accepted', small: 'accepted', faint: 'rejected',
    });
    expect(session.message).toBe('a.jpg reviewed: accepted 2, rejected 1');
    expect(session.image?.path).toBe('b.jpg');
    expect(session.images.items[0]!.status).toBe('reviewed');
    expect(session.summary?.byStatus.reviewed).toBe(1);
    await session.markReviewedAndNext();
    await session.markReviewedAndNext();
    expect(session.message).toBe('c.jpg reviewed: accepted 0, rejected 0. Every image is reviewed.');
  });

  it('Enter with a class filter rejects the predictions of the classes it hides', async () => {
    const cat = session.categories.find((c) => c.name === 'cat')!;
    await session.setImageFilter({ categoryId: cat.id });
    key('Enter');
    await settle();
    expect(Object.fromEntries(store.annotations.forImage(ids[0]! as never).map((a) => [a.id, a.state]))).toEqual({
      big: 'accepted', small: 'rejected', faint: 'rejected',
    });
  });

  it('an edit main refuses is taken back: the stored annotations are shown, and why it failed', async () => {
    click(15, 15);
    // Something else removes 'big' behind the session's back: the edit no longer fits the store.
    store.annotations.apply(ids[0]! as never, { added: [], updated: [], removed: [stored('big')!] }, 'human');
    key('2');
    await settle();
    await settle();
    expect(session.message).toMatch(/^Could not save: annotations\.apply: .+: this annotation changed elsewhere since it was loaded\. Showing the stored annotations\.$/);
    expect(session.annotations.map((a) => a.id)).toEqual(['small', 'faint']);
    expect(session.document!.canUndo).toBe(false);
  });

  it('predictions written for the open image appear, keeping the view', async () => {
    session.zoomBy(2);
    const camera = session.camera;
    store.annotations.apply(ids[0]! as never, { added: [prediction('late', ids[0]!, rectMask(22, 2, 26, 6), 0.8)], updated: [], removed: [] }, 'model');
    api.emit('images.changed', { ids: [ids[0]! as never] });
    await settle();
    expect(session.annotations.map((a) => a.id)).toContain('late');
    expect(session.camera).toEqual(camera);
  });

  it('a refresh of the open image keeps the gesture in progress, and gives way to an image the person asked for', async () => {
    key('p');
    click(22, 2);
    click(34, 2);
    api.emit('images.changed', { ids: [ids[0]! as never] });
    await settle();
    expect(session.toolState).toBe('polygon.drawing');
    key('Escape');
    const b = session.images.items[1]!;
    const opening = session.open(b);
    api.emit('images.changed', { ids: [ids[0]! as never] });
    api.emit('prelabel.progress', { ...progressOf('done'), runId: RunId(3) });
    await opening;
    await settle();
    await settle();
    expect(session.image?.path).toBe('b.jpg');
  });
});

const progressOf = (state: RunProgress['state'], done = 0): RunProgress => ({
  runId: RunId(7), state, total: 3, done, failed: 0, rate: 1, eta: null,
  engine: { provider: 'cpu', fallback: 'CUDA provider unavailable: no driver; using CPU', workers: 2, threadsPerWorker: 1 },
});

describe('runs, commands and disposal', () => {
  const progress = progressOf;

  it('follows a run from its events: says why it is on the CPU once, and refreshes when it ends', async () => {
    api.emit('prelabel.progress', progress('running', 1));
    expect(session.run?.state).toBe('running');
    expect(session.message).toBe('Pre-labelling on the CPU: CUDA provider unavailable: no driver; using CPU');
    session.say('something else');
    api.emit('prelabel.progress', progress('running', 2));
    expect(session.message).toBe('something else');
    store.categories.ensure(['bird']);
    api.emit('prelabel.progress', progress('done', 3));
    await settle();
    expect(session.categories.map((c) => c.name)).toEqual(['cat', 'dog', 'bird']);
  });

  it('a run whose first events overtake the reply to prelabel.start shows what the events say', async () => {
    const withRuns: TestApi = createTestApi({
      ...services,
      prelabel: {
        ...services.prelabel,
        start: async () => {
          withRuns.emit('prelabel.progress', progressOf('paused', 1));
          return progressOf('running', 0);
        },
      },
    });
    const other = new ReviewSession(withRuns, { pictures: { get: async () => 'pixels' } });
    try {
      await other.start();
      await other.prelabel();
      expect(other.run).toMatchObject({ state: 'paused', done: 1 });
      expect(withRuns.requests.find((r) => r.channel === 'prelabel.start')?.request).toEqual({ threshold: 0.5, provider: 'auto' });
    } finally {
      other.dispose();
    }
  });

  it('a pre-label request main refuses is said in the status bar', async () => {
    await session.prelabel();
    expect(session.message).toBe('prelabel.start: no model is installed; import one first');
  });

  it('undo, redo and open-folder arrive as app commands from the desktop menus', async () => {
    click(7, 7);
    key('Delete');
    api.emit('app.command', { command: 'undo' });
    expect(session.annotations.map((a) => a.id)).toContain('small');
    api.emit('app.command', { command: 'redo' });
    expect(session.annotations.map((a) => a.id)).not.toContain('small');
    await settle();
    const other = await mkdtemp(path.join(tmpdir(), 'loupe-session-other-'));
    try {
      // Main hands the folder it chose out as a handle; the page never names a path.
      api.emit('app.command', { command: 'open-folder', folder: services.files.grant('project-folder', other) });
      await expect.poll(() => session.summary?.folder).toBe(other);
      await settle();
      expect(session.images.items).toEqual([]);
      expect(session.image).toBeNull();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });


  it('once disposed it stops listening to main and to the open image', async () => {
    const image: ImageRecord = session.image!;
    session.dispose();
    topics = [];
    api.emit('prelabel.progress', progress('running', 1));
    api.emit('images.changed', { ids: [image.id] });
    expect(session.run).toBeNull();
    expect(topics).toEqual([]);
  });
});

describe('reviewed truth: one undo for a review, stale annotations, model names', () => {
  const states = (imageId: number) => Object.fromEntries(store.annotations.forImage(imageId as never).map((a) => [a.id, a.state]));
  const status = (imageId: number) => store.images.get(imageId as never)!.status;

  it('Enter, then one Ctrl+Z on the next image: back on the reviewed image, its annotations and status as before; redo settles it again', async () => {
    const before = states(ids[0]!);
    const statusBefore = status(ids[0]!);
    key('Enter');
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    expect(status(ids[0]!)).toBe('reviewed');
    expect(session.canUndo).toBe(true);
    expect(session.document!.canUndo).toBe(false);

    key('z', { ctrlKey: true });
    await settle();
    await settle();
    expect(session.image?.path).toBe('a.jpg');
    expect(states(ids[0]!)).toEqual(before);
    expect(status(ids[0]!)).toBe(statusBefore);
    expect(session.annotations.map((a) => [a.id, a.state])).toEqual(Object.entries(before));
    expect(session.message).toBe(`Review of a.jpg undone: it is ${statusBefore} again`);
    expect(session.images.items[0]!.status).toBe(statusBefore);
    expect(session.summary?.byStatus.reviewed).toBe(0);

    key('z', { ctrlKey: true, shiftKey: true });
    await settle();
    expect(states(ids[0]!)).toEqual({ big: 'accepted', small: 'accepted', faint: 'rejected' });
    expect(status(ids[0]!)).toBe('reviewed');
    expect(session.message).toBe('a.jpg reviewed again');
  });

  it('an edit on the next image is undone first; the review after it; an image reviewed without a change undoes its status alone', async () => {
    key('Enter');
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    session.setTool('box');
    drag([[2, 2], [12, 10]]);
    await settle();
    expect(store.annotations.forImage(ids[1]! as never)).toHaveLength(1);
    key('z', { ctrlKey: true });
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    expect(store.annotations.forImage(ids[1]! as never)).toHaveLength(0);
    // b.jpg has nothing to settle: marking it reviewed changes its status only, and undoing it brings that back.
    const statusOfB = status(ids[1]!);
    key('Enter');
    await settle();
    expect(session.message).toBe('b.jpg reviewed: accepted 0, rejected 0');
    expect(session.image?.path).toBe('c.jpg');
    key('z', { ctrlKey: true });
    await settle();
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    expect(status(ids[1]!)).toBe(statusOfB);
    // Back where the first review left b.jpg (the box undone too): the next Ctrl+Z reaches the review of a.jpg.
    key('z', { ctrlKey: true });
    await settle();
    await settle();
    expect(session.image?.path).toBe('a.jpg');
    expect(status(ids[0]!)).not.toBe('reviewed');
  });

  it('Enter again on a reviewed image is no new step: Ctrl+Z from the next image still undoes its one review; a double Enter reviews once', async () => {
    const statusBefore = status(ids[0]!);
    void session.markReviewedAndNext();
    await session.markReviewedAndNext();
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    expect(status(ids[1]!)).not.toBe('reviewed');
    await session.open(store.images.get(ids[0]! as never)!);
    key('Enter');
    await settle();
    expect(session.image?.path).toBe('b.jpg');
    expect(session.message).toBe('a.jpg reviewed: accepted 0, rejected 0');
    key('z', { ctrlKey: true });
    await settle();
    await settle();
    expect(session.image?.path).toBe('a.jpg');
    expect(status(ids[0]!)).toBe(statusBefore);
    expect(states(ids[0]!)).toEqual({ big: 'pending', small: 'pending', faint: 'pending' });
  });

  it('stale annotations: kept when the image still has their size, dropped when not, and Ctrl+Z brings the dropped back', async () => {
    const human = (id: string, bbox: [number, number, number, number]): Annotation => ({
      id: AnnotationId(id), imageId: ids[0]! as never, categoryId: 1 as never, bbox, mask: null, score: null, origin: 'human', modelId: null, state: 'accepted',
    });
    const a = ids[0]! as never;
    // 'fits' was made for the image at its present size (40 x 30), 'old' for 60 x 50, before the file changed.
    store.annotations.apply(a, diffOf({ added: [human('fits', [1, 1, 5, 5])] }));
    store.annotations.forgetChangedContent(a, { width: 40, height: 30 });
    store.annotations.apply(a, diffOf({ added: [human('old', [2, 2, 5, 5])] }));
    store.annotations.forgetChangedContent(a, { width: 60, height: 50 });
    store.annotations.apply(a, diffOf({ added: [prediction('again', ids[0]!, rectMask(0, 0, 10, 10), 0.9)] }), 'model');
    await session.open(store.images.get(a)!);
    expect(session.annotations.map((x) => [x.id, x.stale])).toEqual([['fits', { width: 40, height: 30 }], ['old', { width: 60, height: 50 }], ['again', undefined]]);

    key('Enter');
    await settle();
    expect(session.message).toBe('a.jpg reviewed: accepted 1, rejected 0; stale annotations kept 1, dropped 1');
    expect(store.annotations.forImage(a).map((x) => [x.id, x.stale])).toEqual([['fits', undefined], ['again', undefined]]);
    key('z', { ctrlKey: true });
    await settle();
    await settle();
    expect(store.annotations.forImage(a).map((x) => [x.id, x.stale, x.state]).sort()).toEqual([
      ['again', undefined, 'pending'], ['fits', { width: 40, height: 30 }, 'accepted'], ['old', { width: 60, height: 50 }, 'accepted'],
    ]);
    expect(session.annotations.map((x) => x.id).sort()).toEqual(['again', 'fits', 'old']);
  });

  it('names the model of each prediction, short and in full', () => {
    expect(session.modelName(stored('big')!)).toEqual({ short: 'm', full: 'm' });
    expect(session.modelName({ modelId: null })).toBeNull();
  });

  it('says how many pending predictions of other models a finished run replaced', () => {
    api.emit('prelabel.progress', { ...progressOf('done', 3), replaced: 4 });
    expect(session.message).toBe('Pre-label done: replaced 4 pending predictions of other models (an image holds one model\'s pending predictions)');
  });

  it('shows a run another process holds on the folder, refuses to start another, and lets go when it ends', async () => {
    const cli = openProject(folder);
    const lock = cli.runLock.acquire();
    try {
      lock.update({ state: 'running', total: 3, done: 1 });
      await session.checkOtherRun();
      expect(session.otherRun).toMatchObject({ pid: process.pid, state: 'running', done: 1, total: 3, ownedHere: false });
      expect(session.prelabelRefusal).toMatch(/^A pre-label run is already in progress on this folder \(pid \d+, started \d\d:\d\d\)/);
      const asked = api.requests.length;
      await session.prelabel();
      expect(session.message).toBe(session.prelabelRefusal);
      expect(api.requests.slice(asked).map((r) => r.channel)).not.toContain('prelabel.start');
      lock.update({ done: 2 });
      await session.checkOtherRun();
      expect(session.otherRun?.done).toBe(2);
    } finally {
      lock.release();
      cli.close();
    }
    await session.checkOtherRun();
    expect(session.otherRun).toBeNull();
    expect(session.prelabelRefusal).toBeNull();
  });
});

describe('the Export and Import dialogs', () => {
  it('opens with the CLI\'s defaults (the contract\'s), exports the reviewed truth as COCO into the project, and reports what it left out', async () => {
    api.emit('app.command', { command: 'export-coco' });
    expect(session.exportDialog).toEqual({
      choices: { format: 'coco', coco: cocoExportOptionsSchema.parse({}), dataset: datasetExportOptionsSchema.parse({}) },
      file: null, busy: false, report: null, error: null,
    });
    key('Enter'); // a dialog keeps its keys: nothing is marked reviewed
    expect(session.image?.path).toBe('a.jpg');
    await session.runExport();
    expect(session.exportDialog?.report).toMatchObject({ format: 'coco', images: 0, annotations: 0, leftOut: [] });
    expect(session.message).toMatch(new RegExp(`^Exported 0 images, 0 annotations as COCO to ${folder}/\\.loupe/exports/coco-.+\\.json$`));
    expect(api.requests.find((r) => r.channel === 'export.coco')?.request).toEqual(cocoExportOptionsSchema.parse({}));
    key('Escape');
    expect(session.exportDialog).toBeNull();

    await session.markReviewedAndNext();
    session.openExport();
    session.chooseExport({ format: 'yolo', dataset: { scope: 'all', valFraction: 0.5 } });
    await session.runExport();
    // These images have no file on disk: each is named as left out rather than failing the export.
    const report = session.exportDialog!.report!;
    expect(report).toMatchObject({ format: 'yolo', images: 0 });
    expect(report.leftOut.map((l) => l.path)).toEqual(['a.jpg', 'b.jpg', 'c.jpg']);
    expect(report.path).toMatch(new RegExp(`^${folder}/\\.loupe/exports/yolo-`));
    expect(describeExport(report).details[0]).toMatch(/^3 images left out: a\.jpg \(.*missing.*\)/);
    session.closeExport();
    session.openExport();
    expect(session.exportDialog?.choices.format).toBe('yolo');
  });

  it('imports from what main\'s dialog chose, shows the new class and says what it added; without a dialog, says it is not available', async () => {
    session.openImport();
    await session.runImport();
    expect(session.importDialog?.error).toMatch(/not available in the browser: importing annotations needs the desktop app's file dialog; run `loupe import/);

    const file = path.join(folder, 'in.json');
    await writeFile(file, JSON.stringify({
      images: [{ id: 1, file_name: 'b.jpg', width: 40, height: 30 }],
      categories: [{ id: 5, name: 'bird' }],
      annotations: [{ id: 9, image_id: 1, category_id: 5, bbox: [2, 2, 8, 6], area: 48, iscrowd: 0 }],
    }));
    const chosen: string[] = [];
    const dialogServices = servicesOver(store, { models: noModels(), chooseFile: async (purpose) => (chosen.push(purpose), file) });
    const withDialog = createTestApi(dialogServices);
    const other = new ReviewSession(withDialog, { pictures: { get: async () => 'pixels' }, otherRunPollMs: 0 });
    try {
      await other.start();
      await other.step(1);
      other.openImport();
      other.chooseImportFormat('coco');
      await other.runImport();
      expect(chosen).toEqual(['import-coco']);
      expect(other.importDialog?.report).toMatchObject({ source: file, imported: 1, images: 1, newCategories: ['bird'], problems: [] });
      expect(other.message).toBe(`Added 1 annotations to 1 images from ${file}; new classes: bird`);
      expect(other.categories.map((c) => c.name)).toContain('bird');
      expect(other.annotations.map((a) => a.origin)).toEqual(['human']);
    } finally {
      other.dispose();
      await dialogServices.close();
    }
  });
});

describe('files main\'s dialogs chose', () => {
  it('COCO: Save as… writes where main\'s save dialog chose, through a handle; cancelling keeps the choice; without a dialog it says so', async () => {
    session.openExport();
    await session.chooseExportFile();
    expect(session.exportDialog?.error).toMatch(/not available in the browser: choosing where to save an export .*`loupe export <folder> --format coco --out FILE`/);
    expect(session.exportDialog?.file).toBeNull();
    session.closeExport();

    const target = path.join(folder, 'chosen', 'train.json');
    await mkdir(path.dirname(target));
    let answer: string | null = target;
    const dialogServices = servicesOver(store, { models: noModels(), chooseFile: async (purpose) => (purpose === 'export-coco' ? answer : null) });
    const withDialog = createTestApi(dialogServices);
    const other = new ReviewSession(withDialog, { pictures: { get: async () => 'pixels' }, otherRunPollMs: 0 });
    try {
      await other.start();
      other.openExport();
      await other.chooseExportFile();
      expect(other.exportDialog?.file?.name).toBe('train.json');
      answer = null;
      await other.chooseExportFile();
      expect(other.exportDialog?.file?.name).toBe('train.json');
      await other.runExport();
      expect(other.exportDialog?.report?.path).toBe(target);
      const sent = withDialog.requests.filter((r) => r.channel === 'export.coco').at(-1)?.request as { file?: string };
      expect(sent.file).toBe(other.exportDialog?.file?.handle);
      expect(JSON.stringify(withDialog.requests)).not.toContain(target);
      expect(JSON.parse(await readFile(target, 'utf8'))).toHaveProperty('images');
      other.clearExportFile();
      await other.runExport();
      expect(other.exportDialog?.report?.path).toMatch(new RegExp(`^${folder}/\\.loupe/exports/coco-`));
    } finally {
      other.dispose();
      await dialogServices.close();
    }
  });

  it('Import Model: the files come from main\'s dialog as handles, the model is checked, installed and offered in the picker', async () => {
    const shipped = path.join(repoRoot(), 'resources', 'models');
    const userDir = path.join(folder, 'imported-models');
    const answers: Partial<Record<string, string>> = {
      'model-onnx': path.join(shipped, 'loupe-shapes.onnx'),
      'model-card': path.join(shipped, 'loupe-shapes.json'),
    };
    const dialogServices = servicesOver(store, { models: { shippedDir: path.join(folder, 'no-shipped-models'), userDir }, chooseFile: async (purpose) => answers[purpose] ?? null });
    const withDialog = createTestApi(dialogServices);
    const other = new ReviewSession(withDialog, { pictures: { get: async () => 'pixels' }, otherRunPollMs: 0 });
    try {
      await other.start();
      expect(other.models).toEqual([]);
      withDialog.emit('app.command', { command: 'import-model' });
      expect(other.modelImportDialog?.choices.kind).toBe('card');
      await other.runModelImport();
      expect(other.modelImportDialog?.error).toBe('Nothing imported: choose the .onnx file and the card first');
      await other.chooseModelFile('onnx');
      await other.chooseModelFile('card');
      expect(other.modelImportDialog?.choices.files).toMatchObject({ onnx: { name: 'loupe-shapes.onnx' }, card: { name: 'loupe-shapes.json' } });
      await other.runModelImport();
      expect(other.modelImportDialog?.error).toBeNull();
      expect(other.modelImportDialog?.report?.model).toMatchObject({ name: 'loupe-shapes', source: 'user' });
      expect(other.message).toMatch(/^Imported loupe-shapes \(\d+ classes: .+\) into your models$/);
      expect(other.models.map((m) => m.name)).toEqual(['loupe-shapes']);
      expect(JSON.stringify(withDialog.requests)).not.toContain(shipped);
      other.keyDown({ key: 'Escape' });
      expect(other.modelImportDialog).toBeNull();
    } finally {
      other.dispose();
      await dialogServices.close();
    }
  });
});

describe('the model picker', () => {
  it('starts on the project\'s active model: the shipped default, then the model of the last run', async () => {
    const shippedDir = path.join(repoRoot(), 'resources', 'models');
    const withServices = servicesOver(store, { models: { shippedDir, userDir: path.join(folder, 'user-models') } });
    const withModels = createTestApi(withServices);
    const picker = async () => {
      const other = new ReviewSession(withModels, { pictures: { get: async () => 'pixels' }, otherRunPollMs: 0 });
      try {
        await other.start();
        return path.basename(other.settings.model ?? '');
      } finally {
        other.dispose();
      }
    };
    expect(await picker()).toBe('loupe-shapes.json');
    const zoo = (await withModels.invoke('models.installed', {})).models.find((m) => m.name === 'loupe-shapes-zoo')!;
    store.prelabel.start(zoo.id!, { cardPath: zoo.cardPath });
    expect(await picker()).toBe('loupe-shapes-zoo.json');
    await withServices.close();
  });
});

describe('instance labels', () => {
  const box = { ...prediction('p', 1, rectMask(0, 0, 4, 4), 0.87), crowd: true };
  const cat = { id: 1, name: 'cat', color: '#ff0000' } as never;

  it('name the class, the model that made a prediction (short), its score, and whether it is stale or rejected', () => {
    expect(instanceLabel(box, cat, { short: 'zoo', full: 'loupe-shapes-zoo' })).toBe('cat (crowd) · zoo 0.87');
    expect(instanceLabel({ ...box, crowd: false, origin: 'human', score: null, state: 'rejected', stale: { width: 4, height: 3 } }, cat, null)).toBe('cat (stale) ✕');
  });

  it('say what marking reviewed will do with a stale annotation', () => {
    expect(staleNote(box, { width: 40, height: 30 })).toBeNull();
    expect(staleNote({ ...box, stale: { width: 40, height: 30 } }, { width: 40, height: 30 })).toMatch(/made for the image at 40 x 30 .* keeps it/);
    expect(staleNote({ ...box, stale: { width: 60, height: 50 } }, { width: 40, height: 30 })).toMatch(/drops it \(the image is now 40 x 30\); Ctrl\+Z brings it back/);
  });
});

/** A session over its own project folder of real image files, for what needs files on disk or no classes. */
async function sessionOver(folder: string, classes: readonly string[] = []) {
  const own = openProject(folder);
  await scanFolder(own);
  own.categories.ensure(classes);
  const ownServices = servicesOver(own, { models: noModels(own.folder) });
  const ownApi = createTestApi(ownServices);
  const other = new ReviewSession<string>(ownApi, { pictures: { get: async (image) => `pixels of ${image.path}` }, settingsDelayMs: 0, rescanIntervalMs: 0 });
  other.setViewport({ width: 400, height: 300 });
  await other.start();
  return { store: own, api: ownApi, session: other, close: async () => (other.dispose(), await ownServices.close()) };
}

describe('the review flow', () => {
  it('a message stays until the next thing the person does: a key, a press on the canvas, another image', async () => {
    session.say('Exported 3 images');
    key('v');
    expect(session.message).toBe('');
    session.say('something');
    click(38, 2);
    expect(session.message).toBe('');
    session.say('something else');
    await session.step(1);
    expect(session.message).toBe('');
  });

  it('in a project without classes, drawing asks for a class name and makes the instance with it; Escape declines', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'loupe-session-noclass-'));
    await writeImage(own, 'x.png', { width: 40, height: 30 });
    const other = await sessionOver(own);
    try {
      const s = other.session;
      const pointer = (x: number, y: number): PointerInput => ({ screen: toScreen(s.camera, imagePoint(x, y)), button: 0 });
      s.keyDown({ key: 'b' });
      s.pointerDown(pointer(5, 5));
      s.pointerMove(pointer(20, 20));
      s.pointerUp(pointer(20, 20));
      expect(s.askingForClass).toBe(true);
      expect(s.annotations).toEqual([]);
      expect(await s.answerClass('widget')).toBe(true);
      expect(s.askingForClass).toBe(false);
      expect(s.categories.map((c) => c.name)).toEqual(['widget']);
      expect(s.annotations).toEqual([expect.objectContaining({ bbox: [5, 5, 15, 15], categoryId: s.categories[0]!.id })]);
      expect(s.selection).toEqual([s.annotations[0]!.id]);
      await s.whenSaved();
      expect(other.store.annotations.forImage(s.image!.id)).toHaveLength(1);
      // With a class there is nothing to ask.
      s.pointerDown(pointer(22, 2));
      s.pointerMove(pointer(30, 10));
      s.pointerUp(pointer(30, 10));
      expect(s.askingForClass).toBe(false);
      expect(s.annotations).toHaveLength(2);
    } finally {
      await other.close();
      await rm(own, { recursive: true, force: true });
    }
  });

  it('a question for a class is declined with Escape: nothing is drawn', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'loupe-session-noclass-'));
    await writeImage(own, 'x.png', { width: 40, height: 30 });
    const other = await sessionOver(own);
    try {
      const s = other.session;
      const pointer = (x: number, y: number): PointerInput => ({ screen: toScreen(s.camera, imagePoint(x, y)), button: 0 });
      s.keyDown({ key: 'p' });
      for (const [x, y] of [[5, 5], [30, 5], [30, 25]] as const) {
        s.pointerDown(pointer(x, y));
        s.pointerUp(pointer(x, y));
      }
      s.keyDown({ key: 'Enter' });
      expect(s.askingForClass).toBe(true);
      expect(s.keyDown({ key: 'Escape' })).toBe(true);
      expect(s.askingForClass).toBe(false);
      expect(s.annotations).toEqual([]);
    } finally {
      await other.close();
      await rm(own, { recursive: true, force: true });
    }
  });

  it('z zooms to the selection, 0 fits the image again; zoomTo selects and zooms (a double-click in the panel)', () => {
    expect(key('z')).toBe(true);
    expect(session.message).toBe('Select an instance to zoom to it.');
    click(7, 7);
    key('z');
    // 'small' is 5 x 5: zoomed in as far as a zoom to an instance goes, centred on it.
    expect(session.camera.scale).toBe(16);
    const centre = toScreen(session.camera, imagePoint(7.5, 7.5));
    expect([centre.x, centre.y]).toEqual([200, 150]);
    key('0');
    expect(session.camera).toEqual({ scale: 9.8, x: 4, y: 3 });
    session.zoomTo(big);
    expect(session.selection).toEqual(['big']);
    expect(session.camera.scale).toBeCloseTo(10);
  });

  it('bulk: a rectangle selects several, a class key reclassifies them all, r rejects them all, each one undo step', async () => {
    drag([[39, 29], [1, 1]]);
    expect(session.selection).toEqual(['big', 'small']);
    key('2');
    key('r');
    await settle();
    const dog = session.categories[1]!.id;
    expect(['big', 'small'].map((id) => [stored(id)!.categoryId, stored(id)!.state])).toEqual([[dog, 'rejected'], [dog, 'rejected']]);
    key('z', { ctrlKey: true });
    await settle();
    // 'small' was a dog already: the class key left it pending.
    expect(['big', 'small'].map((id) => stored(id)!.state)).toEqual(['accepted', 'pending']);
  });

  it('Ctrl+A selects every instance shown; Shift-click leaves one out; R rejects the rest', async () => {
    expect(key('a', { ctrlKey: true })).toBe(true);
    expect(session.selection).toEqual(['big', 'small']);
    click(7, 7, { shift: true });
    expect(session.selection).toEqual(['big']);
    key('r');
    await settle();
    expect([stored('big')!.state, stored('small')!.state]).toEqual(['rejected', 'pending']);
  });

  it('Shift+R rejects the pending predictions below the threshold, and only those', async () => {
    key('R', { shiftKey: true });
    await settle();
    expect(Object.fromEntries(['big', 'small', 'faint'].map((id) => [id, stored(id)!.state]))).toEqual({ big: 'pending', small: 'pending', faint: 'rejected' });
    expect(session.message).toBe('Rejected 1 pending prediction scoring below 0.50');
  });

  it('with auto-advance, accepting or rejecting selects the next pending instance; at the last it says so', async () => {
    session.updateSettings({ autoAdvance: true });
    click(7, 7);
    key('a');
    expect(session.selection).toEqual(['big']);
    key('r');
    expect(session.selection).toEqual([]);
    expect(session.message).toBe('No pending instance left on this image: Enter marks it reviewed.');
    await settle();
    expect([stored('small')!.state, stored('big')!.state]).toEqual(['accepted', 'rejected']);
  });

  it('a hidden class is neither drawn nor picked; a locked one is drawn but cannot be selected', () => {
    const [cat, dog] = session.categories;
    click(7, 7);
    session.toggleClassHidden(dog!.id);
    expect(session.selection).toEqual([]);
    expect(session.isVisible(session.document!.get(AnnotationId('small'))!)).toBe(false);
    click(7, 7);
    expect(session.selection).toEqual(['big']);
    session.toggleClassLocked(cat!.id);
    expect(session.selection).toEqual([]);
    expect(session.isVisible(session.document!.get(big)!)).toBe(true);
    click(7, 7);
    session.select([big]);
    expect(session.selection).toEqual([]);
    session.toggleClassLocked(cat!.id);
    session.toggleClassHidden(dog!.id);
    click(7, 7);
    expect(session.selection).toEqual(['small']);
  });

  it('the brush is sized in screen pixels: the same on screen at any zoom', () => {
    key('m');
    session.pointerMove(at(10, 10));
    const radius = (session.preview as { radius: number }).radius;
    expect(radius).toBeCloseTo(session.settings.brushSize / 9.8);
    session.zoomBy(2);
    session.pointerMove(at(10, 10));
    expect((session.preview as { radius: number }).radius).toBeCloseTo(radius / 2);
    key(']');
    expect(session.settings.brushSize).toBeGreaterThan(12);
  });

  it('the pointer over an instance makes it the hovered one', () => {
    session.pointerMove(at(7, 7));
    expect(session.hovered).toBe('small');
    session.pointerMove(at(38, 2));
    expect(session.hovered).toBeNull();
  });

  it('settings and the image are kept in the project: opening it again comes back to them', async () => {
    const dog = session.categories[1]!.id;
    session.updateSettings({ threshold: 0.3, opacity: 0.7, brushSize: 20, autoAdvance: true, hiddenCategories: [dog] });
    key('m');
    await session.setImageFilter({ search: 'b' });
    await session.open(session.images.items[0]!);
    await session.flushSettings();
    const again = new ReviewSession(api, { pictures: { get: async () => 'pixels' } });
    try {
      await again.start();
      expect(again.settings).toMatchObject({ threshold: 0.3, opacity: 0.7, brushSize: 20, autoAdvance: true, hiddenCategories: [dog], tool: 'brush' });
      expect(again.images.filter).toEqual({ search: 'b' });
      expect(again.image?.path).toBe('b.jpg');
    } finally {
      again.dispose();
    }
  });

  it('an image that cannot be shown says why in the session (the panel shows it)', async () => {
    expect(session.imageProblem).toBeNull();
    broken.add('b.jpg');
    await session.step(1);
    expect(session.imageProblem).toBe('Could not load the pixels of b.jpg');
    store.images.writeFiles([{ id: ids[2]! as never, file: { path: 'c.jpg', width: 40, height: 30, orientation: 1, hash: '', size: 1, mtimeMs: 1, error: 'unsupported image format' } }]);
    await session.open(store.images.get(ids[2]! as never)!);
    expect(session.imageProblem).toBe('The file could not be read: unsupported image format');
  });

  it('rescans the folder on request and when the window has the focus back: new files appear in the list', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'loupe-session-rescan-'));
    await writeImage(own, 'a.png', { width: 20, height: 20 });
    const other = await sessionOver(own, ['cat']);
    try {
      const s = other.session;
      await writeImage(own, 'b.png', { width: 20, height: 20, seed: 2 });
      await s.rescan();
      expect(s.message).toBe('Rescanned 2 image files: 1 new');
      expect(s.images.items.map((i) => i.path)).toEqual(['a.png', 'b.png']);
      expect(s.summary?.total).toBe(2);
      await s.rescan();
      expect(s.message).toBe('Rescanned 2 image files: nothing changed');
      await writeImage(own, 'c.png', { width: 20, height: 20, seed: 3 });
      s.windowFocused();
      await expect.poll(() => s.images.items.map((i) => i.path), { timeout: 20_000 }).toEqual(['a.png', 'b.png', 'c.png']);
    } finally {
      await other.close();
      await rm(own, { recursive: true, force: true });
    }
  });
});
