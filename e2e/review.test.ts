// The review flow end to end: real bridge, real model, real SQLite file, real Chromium. The folder is
// pre-labelled once, from the toolbar, before the scenarios; each scenario then finds or makes what it needs,
// so one failure stays one failure.
import { readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Annotation, ImageRecord, Rle } from '../app/model/index.js';
import { openApp, shot, startSession, type Session } from './harness.js';
import { innerPixel, maskArea, pixel, ReviewPage, RUN_TIMEOUT, UI_TIMEOUT } from './review-page.js';

/** The slider value the scenarios review at: the smoke model scores low, so keep its low-scoring predictions. */
const THRESHOLD = 0.05;

let session: Session;
let review: ReviewPage;
const page = () => session.page;
/** What the status bar said about where the model runs, read when the run was done. */
let runMessage = '';

beforeAll(async () => {
  session = await startSession('review');
  review = new ReviewPage(session.page);
  await openApp(page(), session.serving.bridge.url);
  await page().waitForFunction(() => document.querySelectorAll('.image-row').length >= 10, null, { timeout: UI_TIMEOUT });
  await shot(page(), '01-opened');
  await page().locator('[data-testid=threshold]').fill(String(THRESHOLD));
  await page().click('[data-testid=prelabel]');
  await review.runDone();
  runMessage = await review.message();
}, RUN_TIMEOUT + 60_000);

afterAll(async () => {
  await session?.close();
});

const visible = (a: Annotation) => a.state !== 'rejected' && (a.origin !== 'model' || (a.score ?? 1) >= THRESHOLD);
const untouched = (a: Annotation) => a.origin === 'model' && a.state === 'pending' && a.mask !== null && visible(a);

/** The image with the most untouched masked predictions (of at least `minArea` pixels); at least `count` of them. */
async function imageWithPredictions(count: number, minArea = 0): Promise<{ image: ImageRecord; predictions: Annotation[] }> {
  const { items } = await session.api.invoke('images.list', { limit: 100 });
  let best: { image: ImageRecord; predictions: Annotation[] } | null = null;
  for (const image of items) {
    const { annotations } = await session.api.invoke('annotations.list', { imageId: image.id });
    const predictions = annotations.filter((a) => untouched(a) && maskArea(a.mask!) >= minArea);
    if (!best || predictions.length > best.predictions.length) best = { image, predictions };
  }
  if (!best || best.predictions.length < count) {
    throw new Error(`no image has ${count} untouched predictions of ${minArea}+ pixels (best: ${best?.predictions.length ?? 0})`);
  }
  return best;
}

/** Opens the image of `imageWithPredictions` at the review threshold, with the select tool and nothing selected. */
async function openWithPredictions(count: number, minArea = 0): Promise<Annotation[]> {
  const { image, predictions } = await imageWithPredictions(count, minArea);
  await review.openImage(image.id);
  await page().locator('[data-testid=threshold]').fill(String(THRESHOLD));
  await review.reset();
  return predictions;
}

async function stored(imageId: number): Promise<Map<string, Annotation>> {
  const { annotations } = await session.api.invoke('annotations.list', { imageId });
  return new Map(annotations.map((a) => [a.id as string, a]));
}

/** Reclassifies `target` from the keyboard; returns the class it now has. */
async function reclassify(target: Annotation): Promise<number> {
  await review.selectRow(target.id);
  const categories = await page().locator('.category').evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.categoryId)));
  const index = categories.findIndex((id) => id !== target.categoryId);
  expect(index).toBeGreaterThanOrEqual(0);
  await review.press(String(index + 1));
  await review.whenSaved();
  return categories[index]!;
}

/** Erases a stroke across the middle of `target`'s mask; returns the pixel erased. */
async function erase(target: Annotation): Promise<[number, number]> {
  await review.selectRow(target.id);
  await review.useTool('x', 'eraser');
  const [x, y] = innerPixel(target.mask!);
  const [, , w] = target.bbox;
  await review.drag([[Math.max(0, x - w / 3), y], [x, y], [x + w / 3, y]]);
  await review.whenSaved();
  await review.useTool('v', 'select');
  return [x, y];
}

describe('review flow in Chromium over the bridge', () => {
  it('opens the sample folder with thumbnails and pre-labels it with the model', async () => {
    // No CUDA here: the run says it fell back to the CPU, and why.
    expect(runMessage).toMatch(/^Pre-labelling on the CPU: CUDA provider unavailable: .+; using CPU$/);
    expect(await review.progress()).toMatch(/pre-label done: (\d+)\/\1 on CPU \(fallback\)/);
    expect(await page().locator('[data-testid=progress]').getAttribute('title')).toMatch(/^CUDA provider unavailable: /);
    // Three predictions on one image are enough for the scenarios below (fix one, erase one, delete one).
    await imageWithPredictions(3);
    await expect.poll(() => page().locator('.image-row img').evaluateAll((imgs) => imgs.filter((img) => (img as HTMLImageElement).naturalWidth > 0).length),
      { timeout: UI_TIMEOUT }).toBeGreaterThanOrEqual(5);
    await expect.poll(() => page().locator('.image-row .status-predicted').count(), { timeout: UI_TIMEOUT }).toBeGreaterThanOrEqual(5);
    await shot(page(), '02-prelabeled');
  });

  it('fixes a wrong class from the keyboard, making the prediction model-edited', async () => {
    const [target] = await openWithPredictions(1);
    const categoryId = await reclassify(target!);
    expect((await review.snapshot()).annotations.find((a) => a.id === target!.id)).toMatchObject({ categoryId, origin: 'model-edited' });
    expect((await stored(target!.imageId)).get(target!.id)).toMatchObject({ categoryId, origin: 'model-edited' });
    await shot(page(), '03-reclassified');
  });

  it('selects with a canvas click, and repeated clicks cycle through overlapping instances', async () => {
    const { image } = await imageWithPredictions(0);
    await review.openImage(image.id);
    await review.reset();
    await review.useClass((await page().locator('.category .class').first().textContent())!);
    // Two drawn squares that overlap around (100, 90), so there is something to cycle through.
    const under = await review.drawPolygon([[60, 50], [120, 50], [120, 110], [60, 110]]);
    const over = await review.drawPolygon([[80, 70], [140, 70], [140, 130], [80, 130]]);
    await review.reset();
    const [x, y] = [100, 90];
    expect(pixel(under.mask!, x, y)).toBe(1);
    expect(pixel(over.mask!, x, y)).toBe(1);
    // Every visible instance there, topmost (drawn last) first: the order clicks go through.
    const { annotations } = await review.snapshot();
    const cycle = annotations.filter((a) => visible(a) && (a.mask ? pixel(a.mask, x, y) === 1 : inBox(a, x, y))).map((a) => a.id).reverse();
    expect(cycle[0]).toBe(over.id);
    expect(cycle).toContain(under.id);
    const seen: (string | null)[] = [];
    for (let i = 0; i <= cycle.length; i++) {
      await review.clickAt(x + 0.5, y + 0.5);
      await review.nextFrame();
      seen.push((await review.snapshot()).selection);
    }
    expect(seen).toEqual([...cycle, cycle[0]]);
    // A click where nothing is clears the selection.
    await review.clickAt(...emptySpot(annotations, image.width, image.height));
    expect((await review.snapshot()).selection).toBeNull();
  });

  it('erases part of a mask with the eraser', async () => {
    const [target] = await openWithPredictions(1, 400);
    const [x, y] = await erase(target!);
    const after = (await review.snapshot()).annotations.find((a) => a.id === target!.id)!;
    expect(pixel(after.mask!, x, y)).toBe(0);
    expect(maskArea(after.mask!)).toBeLessThan(maskArea(target!.mask!));
    expect(after.origin).toBe('model-edited');
    expect((await stored(target!.imageId)).get(target!.id)!.mask).toEqual(after.mask);
    await shot(page(), '04-erased');
  });

  it('deletes a false positive', async () => {
    const [target] = await openWithPredictions(2);
    await review.selectRow(target!.id);
    // The panel keeps the rows it has: mark them, to find the same elements after the deletion.
    const marked = await page().locator('.instance').evaluateAll((rows) => rows.map((row) => {
      (row as HTMLElement & { kept?: boolean }).kept = true;
      return (row as HTMLElement).dataset.annotationId!;
    }));
    await review.press('Delete');
    await review.whenSaved();
    expect((await review.snapshot()).annotations.some((a) => a.id === target!.id)).toBe(false);
    expect((await stored(target!.imageId)).has(target!.id)).toBe(false);
    await expect.poll(() => page().locator('.instance').evaluateAll((rows) => rows.map((row) => [(row as HTMLElement).dataset.annotationId, (row as HTMLElement & { kept?: boolean }).kept === true])),
      { timeout: UI_TIMEOUT }).toEqual(marked.filter((id) => id !== target!.id).map((id) => [id, true]));
  });

  it('draws a missed object with the polygon tool', async () => {
    await openWithPredictions(0);
    const before = (await review.snapshot()).annotations.length;
    await review.useTool('p', 'polygon');
    for (const [x, y] of [[40, 40], [120, 45], [110, 110], [50, 100]] as const) await review.clickAt(x, y);
    await shot(page(), '05-polygon-drawing');
    await review.clickAt(40.5, 40.5); // the first vertex closes it
    await review.whenSaved();
    const { annotations, selection } = await review.snapshot();
    expect(annotations).toHaveLength(before + 1);
    const drawn = annotations.find((a) => a.id === selection)!;
    expect(drawn).toMatchObject({ origin: 'human', score: null, state: 'accepted' });
    expect(pixel(drawn.mask!, 80, 75)).toBe(1);
    expect(pixel(drawn.mask!, 20, 20)).toBe(0);
    expect((await stored(drawn.imageId)).get(drawn.id)).toMatchObject({ origin: 'human', mask: drawn.mask });
    await shot(page(), '06-polygon-drawn');
  });

  it('draws a missed object with the brush', async () => {
    await openWithPredictions(0);
    await review.useTool('m', 'brush');
    await review.press('Escape'); // nothing selected: the stroke makes a new instance
    await review.drag([[200, 150], [230, 160], [260, 150]]);
    await review.whenSaved();
    const drawn = await review.selected();
    expect(drawn).toMatchObject({ origin: 'human' });
    expect(pixel(drawn.mask!, 230, 158)).toBe(1);
    expect((await stored(drawn.imageId)).has(drawn.id)).toBe(true);
    await shot(page(), '07-brushed');
  });

  it('undoes and redoes, in the store too', async () => {
    await openWithPredictions(0);
    await review.useClass((await page().locator('.category .class').first().textContent())!);
    const box = await review.drawBox([150, 30], [210, 80]);
    await review.useTool('m', 'brush');
    await review.press('Escape');
    await review.drag([[200, 150], [230, 160], [260, 150]]);
    await review.whenSaved();
    const brushed = await review.selected();
    const ids = async () => (await review.snapshot()).annotations.map((a) => a.id);
    await review.press('Control+z');
    await review.whenSaved();
    expect(await ids()).not.toContain(brushed.id);
    await review.press('Control+z');
    await review.whenSaved();
    expect(await ids()).not.toContain(box.id);
    expect([...(await stored(box.imageId)).keys()]).not.toContain(box.id);
    await review.press('Control+Shift+Z');
    await review.press('Control+Shift+Z');
    await review.whenSaved();
    expect(await ids()).toEqual(expect.arrayContaining([box.id, brushed.id]));
    expect([...(await stored(box.imageId)).keys()]).toEqual(expect.arrayContaining([box.id, brushed.id]));
  });

  it('marks the image reviewed and moves to the next one needing review', async () => {
    const { items } = await session.api.invoke('images.list', { limit: 100 });
    const imageId = items.find((i) => i.status !== 'reviewed')!.id;
    await review.openImage(imageId);
    await review.reset();
    const reviewed = Number(await page().locator('[data-testid=progress]').getAttribute('data-reviewed'));
    await review.press('Enter');
    await expect.poll(async () => (await review.snapshot()).imageId, { timeout: UI_TIMEOUT }).not.toBe(imageId);
    await expect.poll(() => page().locator('[data-testid=progress]').getAttribute('data-reviewed'), { timeout: UI_TIMEOUT }).toBe(String(reviewed + 1));
    expect((await session.api.invoke('images.get', { id: imageId })).status).toBe('reviewed');
    await shot(page(), '08-next-image');
  });

  it('finds every change persisted after a reload', async () => {
    const [toFix, toErase, toDelete] = await openWithPredictions(3, 400);
    const { imageId } = await review.snapshot();
    const categoryId = await reclassify(toFix!);
    await erase(toErase!);
    const erased = (await review.snapshot()).annotations.find((a) => a.id === toErase!.id)!;
    await review.selectRow(toDelete!.id);
    await review.press('Delete');
    const polygon = await review.drawPolygon([[40, 40], [120, 45], [110, 110], [50, 100]]);
    await review.press('Escape');
    await review.press('Enter');
    await expect.poll(async () => (await review.snapshot()).imageId, { timeout: UI_TIMEOUT }).not.toBe(imageId);

    await page().reload();
    await page().waitForSelector('#app[data-ready="true"]', { timeout: UI_TIMEOUT });
    await review.openImage(imageId);
    const byId = new Map((await review.snapshot()).annotations.map((a) => [a.id as string, a]));
    expect(byId.get(toFix!.id)).toMatchObject({ categoryId, origin: 'model-edited' });
    expect(byId.get(toErase!.id)!.mask).toEqual(erased.mask);
    expect(byId.has(toDelete!.id)).toBe(false);
    expect(byId.get(polygon.id)).toMatchObject({ origin: 'human', mask: polygon.mask });
    expect(await page().locator(`[data-image-id="${imageId}"] .status`).textContent()).toBe('reviewed');
    // The edit history in the SQLite file recorded each edit with its before and after.
    const db = new Database(session.serving.services.project.current()!.dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT DISTINCT annotation_id AS id FROM annotation_history').all() as { id: string }[];
      expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([toFix!.id, toErase!.id, toDelete!.id, polygon.id]));
    } finally {
      db.close();
    }
    await shot(page(), '09-reloaded');
  });

  it('exports COCO with the corrected masks once the image is reviewed', async () => {
    const [target] = await openWithPredictions(1, 400);
    await erase(target!);
    const { imageId, annotations } = await review.snapshot();
    const erased = annotations.find((a) => a.id === target!.id)!;
    // Enter settles the image (what is shown accepted, the rest rejected): only then is it the reviewed truth.
    await review.press('Enter');
    await expect.poll(async () => (await session.api.invoke('images.get', { id: imageId })).status, { timeout: UI_TIMEOUT }).toBe('reviewed');
    const settled = (await session.api.invoke('annotations.list', { imageId })).annotations;
    expect(settled.filter((a) => a.state === 'pending')).toEqual([]);
    const file = (await review.exportFromDialog()).path;
    expect(await review.message()).toMatch(/^Exported \d+ images, \d+ annotations as COCO to /);
    const coco = JSON.parse(await readFile(file, 'utf8')) as {
      images: { id: number; file_name: string }[];
      annotations: { image_id: number; category_id: number; segmentation: Rle; score?: number }[];
    };
    const path = (await session.api.invoke('images.get', { id: imageId })).path;
    const cocoImage = coco.images.find((i) => i.file_name === path)!;
    const mine = coco.annotations.filter((a) => a.image_id === cocoImage.id);
    expect(mine).toHaveLength(settled.filter((a) => a.state !== 'rejected').length);
    // The app writes what the CLI writes by default: no scores.
    expect(mine.every((a) => a.score === undefined)).toBe(true);
    expect(mine.some((a) => a.segmentation.counts === erased.mask!.counts && a.category_id === erased.categoryId)).toBe(true);
    await shot(page(), '10-exported');
  });

  it('shows every shortcut in the ? overlay and raised no page errors', async () => {
    await review.press('?');
    await expect.poll(() => page().locator('[data-testid=help] tr').count(), { timeout: UI_TIMEOUT }).toBeGreaterThan(30);
    await shot(page(), '11-shortcuts');
    await review.press('?');
    await expect.poll(() => page().locator('[data-testid=help]').count(), { timeout: UI_TIMEOUT }).toBe(0);
    expect(session.errors).toEqual([]);
  });
});

function inBox(a: Annotation, x: number, y: number): boolean {
  const [bx, by, bw, bh] = a.bbox;
  return x >= bx && y >= by && x <= bx + bw && y <= by + bh;
}

/** A pixel no visible instance covers (neither its mask nor, for a box-only one, its box), a few pixels in from the edge. */
function emptySpot(annotations: readonly Annotation[], width: number, height: number): [number, number] {
  const shown = annotations.filter(visible);
  for (let y = 4; y < height - 4; y += 6) {
    for (let x = 4; x < width - 4; x += 6) {
      if (!shown.some((a) => (a.mask ? pixel(a.mask, x, y) === 1 || inBox(a, x, y) : inBox(a, x, y)))) return [x + 0.5, y + 0.5];
    }
  }
  throw new Error('no empty spot on the image');
}
