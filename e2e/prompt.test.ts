// Box prompts in Chromium over the bridge, with the real prompt worker and the shipped split graphs: a box dragged
// around an object the model missed gets a mask, and undo takes it away; a prediction's box resized into the
// background keeps its mask on the object; a model without split graphs shows the tool disabled with the reason.
// Each scenario works on its own image and makes what it needs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { area, iou } from '../app/geometry/rle.js';
import type { Annotation, Bbox, ImageRecord } from '../app/model/index.js';
import { openApp, ROOT, shot, startSession, type Session } from './harness.js';
import { ReviewPage, RUN_TIMEOUT, UI_TIMEOUT } from './review-page.js';

let session: Session;
let review: ReviewPage;
const page = () => session.page;

/** The samples' ground truth: each image's object boxes by class. */
let truth: Map<string, { name: string; bbox: Bbox }[]>;

beforeAll(async () => {
  session = await startSession('prompt');
  review = new ReviewPage(session.page);
  await openApp(page(), session.serving.bridge.url);
  const coco = JSON.parse(await readFile(path.join(ROOT, 'resources', 'samples', 'annotations.json'), 'utf8')) as {
    images: { id: number; file_name: string }[];
    annotations: { image_id: number; category_id: number; bbox: Bbox }[];
    categories: { id: number; name: string }[];
  };
  truth = new Map(coco.images.map((image) => [image.file_name, coco.annotations
    .filter((a) => a.image_id === image.id)
    .map((a) => ({ name: coco.categories.find((c) => c.id === a.category_id)!.name, bbox: a.bbox }))]));
}, 120_000);

afterAll(async () => {
  await session?.close();
});

async function image(name: string): Promise<ImageRecord> {
  const { items } = await session.api.invoke('images.list', { limit: 100 });
  const found = items.find((i) => i.path === name);
  if (!found) throw new Error(`${name} is not in the sample folder`);
  return found;
}

/** Pre-labels one image with the model (through the contract, as the toolbar would) and waits for the run to end. */
async function prelabel(record: ImageRecord): Promise<Annotation[]> {
  await review.settleRun();
  const { runId } = await session.api.invoke('prelabel.start', { imageIds: [record.id] });
  // This run's end as the page hears it (the status bar may still say an earlier run is done).
  await page().waitForFunction((id) => {
    const run = window.__loupe!.session.run;
    return run?.runId === id && run.state === 'done';
  }, runId, { timeout: RUN_TIMEOUT });
  return (await session.api.invoke('annotations.list', { imageId: record.id })).annotations;
}

function boxIou([ax, ay, aw, ah]: Bbox, [bx, by, bw, bh]: Bbox): number {
  const w = Math.max(0, Math.min(ax + aw, bx + bw) - Math.max(ax, bx));
  const h = Math.max(0, Math.min(ay + ah, by + bh) - Math.max(ay, by));
  return (w * h) / (aw * ah + bw * bh - w * h);
}

const promptReady = () => page().evaluate(() => window.__loupe!.session.prompts.unavailable);

describe('box prompts', () => {
  it('a box dragged around an object the model missed gets a mask; undo takes it away', async () => {
    const record = await image('garden.jpg');
    const predictions = await prelabel(record);
    // The triangle at the bottom left is one the shipped model does not find.
    const missed = truth.get('garden.jpg')!.find((t) => t.name === 'triangle' && t.bbox[0] < 100)!;
    expect(predictions.filter((p) => boxIou(p.bbox, missed.bbox) > 0.3)).toEqual([]);
    await review.openImage(record.id);
    await review.reset();
    await expect.poll(promptReady, { timeout: UI_TIMEOUT }).toBeNull();
    await review.useTool('w', 'prompt');
    const before = new Set((await review.snapshot()).annotations.map((a) => a.id));
    const [x, y, w, h] = missed.bbox;
    await review.drag([[x - 3, y - 3], [x + w + 4, y + h + 3]], 6);
    await expect.poll(async () => (await review.snapshot()).annotations.filter((a) => !before.has(a.id)).length, { timeout: UI_TIMEOUT }).toBe(1);
    await review.whenSaved();
    const made = (await review.snapshot()).annotations.find((a) => !before.has(a.id))!;
    expect(made).toMatchObject({ origin: 'prompted', state: 'pending' });
    expect(made.mask).not.toBeNull();
    expect(boxIou(made.bbox, missed.bbox)).toBeGreaterThan(0.6);
    expect((await review.snapshot()).selection).toBe(made.id);
    // Drawn: its row in the panel, with the classes the model offers for it.
    await expect.poll(() => page().locator(`[data-annotation-id="${made.id}"][data-origin="prompted"]`).count(), { timeout: UI_TIMEOUT }).toBe(1);
    await expect.poll(() => page().locator('[data-testid=class-choices] button').count(), { timeout: UI_TIMEOUT }).toBe(4);
    expect((await session.api.invoke('annotations.list', { imageId: record.id })).annotations.find((a) => a.id === made.id)).toEqual(made);
    await shot(page(), 'prompt-01-missed-object');
    await review.press('Control+z');
    await review.whenSaved();
    await expect.poll(async () => (await review.snapshot()).annotations.some((a) => a.id === made.id), { timeout: UI_TIMEOUT }).toBe(false);
    expect((await session.api.invoke('annotations.list', { imageId: record.id })).annotations.some((a) => a.id === made.id)).toBe(false);
  });

  it('a prediction\'s box resized into the background keeps its mask on the object instead of stretching it', async () => {
    const record = await image('tiles.jpg');
    await prelabel(record);
    await review.openImage(record.id);
    await review.reset();
    await expect.poll(promptReady, { timeout: UI_TIMEOUT }).toBeNull();
    const circle = truth.get('tiles.jpg')!.find((t) => t.name === 'circle')!;
    const prediction = (await review.snapshot()).annotations.find((a) => a.origin === 'model' && boxIou(a.bbox, circle.bbox) > 0.7)!;
    expect(prediction).toBeDefined();
    await review.selectRow(prediction.id);
    await review.nextFrame();
    // The bottom handle, pulled down by 70% of the box's height over plain background.
    const [x, y, w, h] = prediction.bbox;
    await review.drag([[x + w / 2, y + h], [x + w / 2, y + h * 1.7]], 6);
    await expect.poll(async () => (await review.selected()).mask?.counts !== prediction.mask!.counts, { timeout: UI_TIMEOUT }).toBe(true);
    await review.whenSaved();
    const resized = await review.selected();
    expect(resized.origin).toBe('model-edited');
    expect(iou(resized.mask!, prediction.mask!)).toBeGreaterThan(0.85);
    expect(area(resized.mask!) / area(prediction.mask!)).toBeLessThan(1.2);
    expect(resized.bbox[3]).toBeLessThan(h * 1.2);
    expect((await session.api.invoke('annotations.list', { imageId: record.id })).annotations.find((a) => a.id === prediction.id)).toEqual(resized);
    await shot(page(), 'prompt-02-resized-prediction');
    await review.press('Control+z');
    await review.whenSaved();
    expect((await session.api.invoke('annotations.list', { imageId: record.id })).annotations.find((a) => a.id === prediction.id)?.mask).toEqual(prediction.mask);
  });

  it('a model without split graphs (the ONNX Zoo layout) shows the tool disabled, with the reason', async () => {
    await review.openImage((await image('wall.jpg')).id);
    await review.reset();
    const button = page().locator('[data-action="tool.prompt"]');
    await expect.poll(() => button.isDisabled(), { timeout: UI_TIMEOUT }).toBe(false);
    const options = await page().locator('[data-testid=model] option').allTextContents();
    const zoo = options.findIndex((text) => text.startsWith('loupe-shapes-zoo '));
    const chosen = await page().locator('[data-testid=model]').inputValue();
    expect(zoo).toBeGreaterThanOrEqual(0);
    await page().selectOption('[data-testid=model]', String(zoo));
    await expect.poll(() => button.isDisabled(), { timeout: UI_TIMEOUT }).toBe(true);
    expect(await button.getAttribute('title')).toMatch(/^loupe-shapes-zoo \(the ONNX Zoo layout\) has no split graph: box prompts need/);
    await review.press('w');
    expect((await review.snapshot()).tool).toBe('select');
    expect(await review.message()).toMatch(/^loupe-shapes-zoo \(the ONNX Zoo layout\) has no split graph/);
    // Back to the model with split graphs: the tool comes back.
    await page().selectOption('[data-testid=model]', chosen);
    await expect.poll(() => button.isDisabled(), { timeout: UI_TIMEOUT }).toBe(false);
  }, RUN_TIMEOUT);
});
