// The review flow end to end: real bridge, real model, real SQLite file, real Chromium.
import { readFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../app/geometry/rle.js';
import type { Annotation, Rle } from '../app/model/index.js';
import { openApp, shot, startSession, type Session } from './harness.js';

let session: Session;
const page = () => session.page;

interface Snapshot {
  imageId: number;
  path: string;
  annotations: Annotation[];
  selection: string | null;
}

const snapshot = () => page().evaluate((): Snapshot => {
  const editor = window.__loupe!.currentEditor!;
  return { imageId: editor.image.id, path: editor.image.path, annotations: [...editor.annotations], selection: editor.selection };
});
const whenSaved = () => page().evaluate(() => window.__loupe!.currentEditor!.whenSaved());
/** Image pixel -> page coordinates on the canvas. */
const toPage = (x: number, y: number) => page().evaluate(([px, py]) => window.__loupe!.view.toClient({ x: px!, y: py! }), [x, y]);

async function drag(points: [number, number][]): Promise<void> {
  const mouse = page().mouse;
  const first = await toPage(...points[0]!);
  await mouse.move(first.x, first.y);
  await mouse.down();
  for (const p of points.slice(1)) {
    const q = await toPage(...p);
    await mouse.move(q.x, q.y, { steps: 4 });
  }
  await mouse.up();
}

async function clickAt(x: number, y: number): Promise<void> {
  const p = await toPage(x, y);
  await page().mouse.click(p.x, p.y);
}

const maskArea = (rle: Rle) => decode(rle).data.reduce((n, v) => n + v, 0);
const pixel = (rle: Rle, x: number, y: number) => decode(rle).data[y * rle.size[1] + x];

/** A set pixel of the mask near its centre of mass. */
function innerPixel(rle: Rle): [number, number] {
  const mask = decode(rle);
  const set: [number, number][] = [];
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) set.push([i % mask.width, Math.floor(i / mask.width)]);
  const cx = set.reduce((s, p) => s + p[0], 0) / set.length;
  const cy = set.reduce((s, p) => s + p[1], 0) / set.length;
  const distance = (p: [number, number]) => (p[0] - cx) ** 2 + (p[1] - cy) ** 2;
  return set.reduce((best, p) => (distance(p) < distance(best) ? p : best));
}

beforeAll(async () => {
  session = await startSession('review');
  await openApp(page(), session.serving.bridge.url);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

describe('review flow in Chromium over the bridge', () => {
  const expected: {
    imageId?: number;
    reclassified?: { id: string; categoryId: number };
    erased?: { id: string; area: number; at: [number, number] };
    deleted?: string;
    polygon?: string;
    brush?: string;
  } = {};

  it('opens the sample folder with thumbnails and pre-labels it with the model', async () => {
    await expect.poll(() => page().locator('.image-row').count()).toBeGreaterThanOrEqual(10);
    await shot(page(), '01-opened');
    // Keep low-scoring predictions too (the smoke model scores low), then run the model from the toolbar.
    await page().locator('[data-testid=threshold]').fill('0.05');
    await page().click('[data-testid=prelabel]');
    // No CUDA here: the run says it fell back to the CPU, and why.
    await expect.poll(() => page().locator('[data-testid=message]').textContent()).toMatch(/^Pre-labelling on the CPU: CUDA provider unavailable: .+; using CPU$/);
    await page().waitForFunction(() => /pre-label done/.test(document.querySelector('[data-testid=progress]')!.textContent ?? ''), null, { timeout: 120_000 });
    expect(await page().locator('[data-testid=progress]').textContent()).toMatch(/pre-label done: (\d+)\/\1 on CPU \(fallback\)/);
    expect(await page().locator('[data-testid=progress]').getAttribute('title')).toMatch(/^CUDA provider unavailable: /);
    // Three predictions are enough for the steps below (fix one, erase one, delete one).
    await expect.poll(async () => (await snapshot()).annotations.filter((a) => a.mask).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const thumbnails = await page().locator('.image-row img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).naturalWidth));
    expect(thumbnails.filter((w) => w > 0).length).toBeGreaterThanOrEqual(5);
    expect(await page().locator('.image-row .status-predicted').count()).toBeGreaterThanOrEqual(5);
    await shot(page(), '02-prelabeled');
  });

  it('fixes a wrong class from the keyboard, making the prediction model-edited', async () => {
    const before = await snapshot();
    expected.imageId = before.imageId;
    const target = before.annotations.find((a) => a.mask && a.origin === "model")!;
    await page().click(`[data-annotation-id="${target.id}"]`);
    expect((await snapshot()).selection).toBe(target.id);
    const categories = await page().locator('.category').evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.categoryId)));
    const index = categories.findIndex((id) => id !== target.categoryId);
    await page().keyboard.press(String(index + 1));
    await whenSaved();
    const after = (await snapshot()).annotations.find((a) => a.id === target.id)!;
    expect(after).toMatchObject({ categoryId: categories[index], origin: 'model-edited' });
    expected.reclassified = { id: target.id, categoryId: categories[index]! };
    await shot(page(), '03-reclassified');
  });

  it('selects with a canvas click, and repeated clicks cycle through overlapping instances', async () => {
    await page().keyboard.press('Escape');
    const { annotations } = await snapshot();
    const target = annotations.find((a) => a.mask && a.origin === 'model' && a.id !== expected.reclassified!.id)!;
    const [x, y] = innerPixel(target.mask!);
    await clickAt(x, y);
    const first = (await snapshot()).selection;
    expect(first).not.toBeNull();
    await page().waitForTimeout(50);
    await clickAt(x, y);
    const second = (await snapshot()).selection;
    const overlapping = annotations.filter((a) => a.mask && pixel(a.mask, x, y) && a.score! >= 0.05).length;
    if (overlapping > 1) expect(second).not.toBe(first);
  });

  it('erases part of a mask with the eraser', async () => {
    const { annotations } = await snapshot();
    const target = annotations.find((a) => a.mask && a.origin === 'model' && a.id !== expected.reclassified!.id && maskArea(a.mask) > 400)!;
    await page().click(`[data-annotation-id="${target.id}"]`);
    await page().keyboard.press('x');
    const [x, y] = innerPixel(target.mask!);
    const [, , w] = target.bbox;
    await drag([[Math.max(0, x - w / 3), y], [x, y], [x + w / 3, y]]);
    await whenSaved();
    const after = (await snapshot()).annotations.find((a) => a.id === target.id)!;
    expect(pixel(after.mask!, x, y)).toBe(0);
    expect(maskArea(after.mask!)).toBeLessThan(maskArea(target.mask!));
    expect(after.origin).toBe('model-edited');
    expected.erased = { id: target.id, area: maskArea(after.mask!), at: [x, y] };
    await shot(page(), '04-erased');
  });

  it('deletes a false positive', async () => {
    await page().keyboard.press('v');
    const { annotations } = await snapshot();
    const target = annotations.find((a) => a.origin === 'model' && a.id !== expected.erased!.id && a.id !== expected.reclassified!.id)!;
    await page().click(`[data-annotation-id="${target.id}"]`);
    await page().keyboard.press('Delete');
    await whenSaved();
    expect((await snapshot()).annotations.some((a) => a.id === target.id)).toBe(false);
    expected.deleted = target.id;
  });

  it('draws a missed object with the polygon tool', async () => {
    await page().keyboard.press('Escape');
    await page().keyboard.press('p');
    const before = (await snapshot()).annotations.length;
    for (const [x, y] of [[40, 40], [120, 45], [110, 110], [50, 100]] as const) await clickAt(x, y);
    await shot(page(), '05-polygon-drawing');
    await clickAt(40.5, 40.5); // the first vertex closes it
    await whenSaved();
    const { annotations, selection } = await snapshot();
    expect(annotations).toHaveLength(before + 1);
    const drawn = annotations.find((a) => a.id === selection)!;
    expect(drawn).toMatchObject({ origin: 'human', score: null, state: 'accepted' });
    expect(pixel(drawn.mask!, 80, 75)).toBe(1);
    expect(pixel(drawn.mask!, 20, 20)).toBe(0);
    expected.polygon = drawn.id;
    await shot(page(), '06-polygon-drawn');
  });

  it('draws a missed object with the brush', async () => {
    await page().keyboard.press('m');
    await page().keyboard.press('Escape'); // nothing selected: the stroke makes a new instance
    await drag([[200, 150], [230, 160], [260, 150]]);
    await whenSaved();
    const { annotations, selection } = await snapshot();
    const drawn = annotations.find((a) => a.id === selection)!;
    expect(drawn).toMatchObject({ origin: 'human' });
    expect(pixel(drawn.mask!, 230, 158)).toBe(1);
    expected.brush = drawn.id;
    await shot(page(), '07-brushed');
  });

  it('undoes and redoes', async () => {
    await page().keyboard.press('Control+z');
    await whenSaved();
    expect((await snapshot()).annotations.some((a) => a.id === expected.brush)).toBe(false);
    await page().keyboard.press('Control+z');
    await whenSaved();
    expect((await snapshot()).annotations.some((a) => a.id === expected.polygon)).toBe(false);
    await page().keyboard.press('Control+Shift+Z');
    await page().keyboard.press('Control+Shift+Z');
    await whenSaved();
    const ids = (await snapshot()).annotations.map((a) => a.id);
    expect(ids).toContain(expected.polygon);
    expect(ids).toContain(expected.brush);
  });

  it('marks the image reviewed and moves to the next one needing review', async () => {
    await page().keyboard.press('Escape');
    await page().keyboard.press('Enter');
    await expect.poll(async () => (await snapshot()).imageId).not.toBe(expected.imageId);
    await expect.poll(() => page().locator('[data-testid=progress]').getAttribute('data-reviewed')).toBe('1');
    await shot(page(), '08-next-image');
  });

  it('finds every change persisted after a reload', async () => {
    await page().reload();
    await page().waitForSelector('#app[data-ready="true"]');
    await page().click(`[data-image-id="${expected.imageId}"]`);
    await expect.poll(async () => (await snapshot()).imageId).toBe(expected.imageId);
    const { annotations } = await snapshot();
    const byId = new Map<string, Annotation>(annotations.map((a) => [a.id, a]));
    expect(byId.get(expected.reclassified!.id)).toMatchObject({ categoryId: expected.reclassified!.categoryId, origin: 'model-edited' });
    expect(maskArea(byId.get(expected.erased!.id)!.mask!)).toBe(expected.erased!.area);
    expect(byId.has(expected.deleted!)).toBe(false);
    expect(byId.get(expected.polygon!)).toMatchObject({ origin: 'human' });
    expect(byId.get(expected.brush!)).toMatchObject({ origin: 'human' });
    expect(await page().locator(`[data-image-id="${expected.imageId}"] .status`).textContent()).toBe('reviewed');
    // The edit history in the SQLite file recorded before and after.
    const db = new Database(session.serving.services.current()!.dbPath, { readonly: true });
    try {
      const rows = db.prepare('SELECT count(*) AS n FROM annotation_history').get() as { n: number } | undefined;
      expect(rows?.n ?? 0).toBeGreaterThanOrEqual(7);
    } finally {
      db.close();
    }
    await shot(page(), '09-reloaded');
  });

  it('exports COCO with the corrected masks', async () => {
    await page().click('[data-testid=export]');
    await expect.poll(() => page().locator('[data-testid=message]').textContent()).toMatch(/Exported \d+ images/);
    const message = (await page().locator('[data-testid=message]').textContent())!;
    const file = message.replace(/^.* to /, '');
    const coco = JSON.parse(await readFile(file, 'utf8')) as {
      images: { id: number }[];
      annotations: { image_id: number; category_id: number; segmentation: Rle; area: number }[];
    };
    const mine = coco.annotations.filter((a) => a.image_id === expected.imageId);
    const { annotations } = await snapshot();
    expect(mine).toHaveLength(annotations.filter((a) => a.state !== 'rejected').length);
    const erased = annotations.find((a) => a.id === expected.erased!.id)!;
    expect(mine.some((a) => a.segmentation.counts === erased.mask!.counts)).toBe(true);
    const reclassified = annotations.find((a) => a.id === expected.reclassified!.id)!;
    expect(mine.some((a) => a.segmentation.counts === reclassified.mask!.counts && a.category_id === expected.reclassified!.categoryId)).toBe(true);
    for (const id of [expected.polygon!, expected.brush!]) {
      const drawn = annotations.find((a) => a.id === id)!;
      expect(mine.some((a) => a.segmentation.counts === drawn.mask!.counts)).toBe(true);
    }
    await shot(page(), '10-exported');
  });

  it('shows every shortcut in the ? overlay and raised no page errors', async () => {
    await page().keyboard.press('?');
    await expect.poll(() => page().locator('[data-testid=help] tr').count()).toBeGreaterThan(30);
    await shot(page(), '11-shortcuts');
    await page().keyboard.press('?');
    expect(session.errors).toEqual([]);
  });
});
