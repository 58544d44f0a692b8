// The review session headless, over the real IPC handlers and a real SQLite project: keys and pointer
// input in (as the views dispatch them), what the screen would show and what the store holds out.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imagePoint, screenPoint } from '../../app/geometry/points.js';
import { encode } from '../../app/geometry/rle.js';
import { AnnotationId, RunId, type Annotation, type ImageRecord } from '../../app/model/index.js';
import type { RunProgress } from '../../app/ipc/contract.js';
import type { Services } from '../../main/services/index.js';
import { openProject, type ProjectStore } from '../../main/store/index.js';
import { createTestApi, type TestApi } from '../../main/testing/project-api.test-support.js';
import { servicesOver } from '../../main/testing/services.test-support.js';
import { toScreen } from './camera.js';
import { rectMask } from './fixtures.test-support.js';
import { countSet } from './mask-ops.js';
import { ReviewSession, type PointerInput, type Topic } from './session.js';

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
  services = servicesOver(store, { models: { shippedDir: path.join(folder, 'no-models'), userDir: path.join(folder, 'no-user-models') } });
  api = createTestApi(services);
  broken.clear();
  let n = 0;
  session = new ReviewSession(api, {
    pictures: { get: async (image) => (broken.has(image.path) ? Promise.reject(new Error('no pixels')) : `pixels of ${image.path}`) },
    newId: () => AnnotationId(`new-${++n}`),
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
      api.emit('app.command', { command: 'open-folder', folder: other });
      await expect.poll(() => session.summary?.folder).toBe(other);
      await settle();
      expect(session.images.items).toEqual([]);
      expect(session.image).toBeNull();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('exports the reviewed truth, as the CLI does by default, and says where', async () => {
    await session.exportCoco();
    expect(session.message).toMatch(/^Exported 0 images, 0 annotations to .+\.json$/);
    await session.markReviewedAndNext();
    await session.exportCoco();
    // These images have no file on disk: the reviewed one is named as left out rather than failing the export.
    expect(session.message).toMatch(/^Exported 0 images, 0 annotations to .+\.json; left out 1: a\.jpg \(.*missing.*\)$/);
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
