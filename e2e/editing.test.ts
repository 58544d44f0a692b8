// Editing tools in Chromium over the bridge: box draw/move/resize, vertex edit, fill holes, accept/reject,
// threshold, prev/next and zoom to the cursor.
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../app/geometry/rle.js';
import type { Annotation, Rle } from '../app/model/index.js';
import { openApp, shot, startSession, type Session } from './harness.js';

let session: Session;
const page = () => session.page;

const state = () => page().evaluate(() => {
  const app = window.__loupe!;
  const editor = app.currentEditor!;
  return { imageId: editor.image.id as number, annotations: [...editor.annotations] as Annotation[], selection: editor.selection as string | null, scale: app.view.scale };
});
const whenSaved = () => page().evaluate(() => window.__loupe!.currentEditor!.whenSaved());
const toPage = (x: number, y: number) => page().evaluate(([px, py]) => window.__loupe!.view.toClient({ x: px!, y: py! }), [x, y]);
const selected = async () => {
  const s = await state();
  return s.annotations.find((a) => a.id === s.selection)!;
};
/** A query on the project file itself, beside the app (WAL: what the app committed is visible). */
function readProject<T>(query: (db: Database.Database) => T): T {
  const db = new Database(path.join(session.folder, '.loupe', 'project.db'), { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}
const area = (rle: Rle) => decode(rle).data.reduce((n, v) => n + v, 0);

async function drag(from: [number, number], to: [number, number]): Promise<void> {
  const a = await toPage(...from);
  const b = await toPage(...to);
  await page().mouse.move(a.x, a.y);
  await page().mouse.down();
  await page().mouse.move(b.x, b.y, { steps: 6 });
  await page().mouse.up();
}

beforeAll(async () => {
  session = await startSession('editing');
  await openApp(page(), session.serving.bridge.url);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

describe('editing tools', () => {
  it('creates a class from the panel; it becomes the class for new instances', async () => {
    await page().fill('[data-testid=new-class]', 'widget');
    await page().press('[data-testid=new-class]', 'Enter');
    await expect.poll(() => page().locator('.category.active .class').textContent()).toBe('widget');
    await page().locator('[data-testid=canvas]').click({ position: { x: 5, y: 5 } }); // keys go to the editor again
  });

  it('draws a box, moves it by dragging and resizes it with a handle, each one undo step', async () => {
    await page().keyboard.press('b');
    await drag([60, 60], [140, 120]);
    await whenSaved();
    const drawn = await selected();
    expect(drawn).toMatchObject({ bbox: [60, 60, 80, 60], mask: null, origin: 'human' });
    await page().keyboard.press('v');
    await page().waitForTimeout(50);
    await drag([100, 90], [130, 110]); // drag the selected box by its inside
    await whenSaved();
    expect((await selected()).bbox.map(Math.round)).toEqual([90, 80, 80, 60]);
    // The bottom-right handle sits on the box corner.
    await drag([170, 140], [190, 150]);
    await whenSaved();
    const [x, y, w, h] = (await selected()).bbox.map(Math.round);
    expect([x, y]).toEqual([90, 80]);
    expect(w).toBeGreaterThan(95);
    expect(h).toBeGreaterThan(65);
    await shot(page(), 'edit-01-box');
    await page().keyboard.press('Control+z');
    await page().keyboard.press('Control+z');
    await whenSaved();
    expect((await selected()).bbox).toEqual([60, 60, 80, 60]);
  });

  it('edits an outline vertex and fills a hole', async () => {
    await page().keyboard.press('Escape');
    await page().keyboard.press('p');
    for (const [x, y] of [[200, 40], [300, 40], [300, 140], [200, 140]] as const) {
      const p = await toPage(x, y);
      await page().mouse.click(p.x, p.y);
    }
    await page().keyboard.press('Enter');
    await whenSaved();
    const square = await selected();
    const squareArea = area(square.mask!);
    await page().keyboard.press('e');
    await page().waitForTimeout(50);
    await drag([300, 140], [330, 170]); // pull the bottom-right corner out
    await whenSaved();
    const pulled = await selected();
    expect(pulled.id).toBe(square.id);
    expect(area(pulled.mask!)).toBeGreaterThan(squareArea);
    expect(pulled.bbox[0] + pulled.bbox[2]).toBeGreaterThan(320);
    await shot(page(), 'edit-02-vertex');
    // Erase a hole in the middle, then fill it.
    await page().keyboard.press('x');
    await drag([245, 90], [255, 90]);
    await whenSaved();
    const holed = await selected();
    expect(decode(holed.mask!).data[90 * holed.mask!.size[1] + 250]).toBe(0);
    await page().keyboard.press('f');
    await whenSaved();
    const filled = await selected();
    expect(decode(filled.mask!).data[90 * filled.mask!.size[1] + 250]).toBe(1);
    expect(area(filled.mask!)).toBe(area(pulled.mask!));
  });

  it('zooms to the cursor: the image point under the pointer stays put', async () => {
    await page().keyboard.press('v');
    const before = await state();
    const anchor = await toPage(150, 100);
    await page().mouse.move(anchor.x, anchor.y);
    await page().mouse.wheel(0, -300);
    await expect.poll(async () => (await state()).scale).toBeGreaterThan(before.scale * 1.2);
    const after = await toPage(150, 100);
    expect(Math.abs(after.x - anchor.x)).toBeLessThan(1.5);
    expect(Math.abs(after.y - anchor.y)).toBeLessThan(1.5);
    // Far in on one corner, a panel click on an instance elsewhere brings it on screen.
    for (let i = 0; i < 8; i++) await page().mouse.wheel(0, -300);
    const { annotations } = await state();
    const target = annotations.reduce((far, a) => (a.bbox[0] > far.bbox[0] ? a : far));
    await page().click(`[data-annotation-id="${target.id}"]`);
    const [x, y, w, h] = target.bbox;
    const centre = await toPage(x + w / 2, y + h / 2);
    const canvas = (await page().locator('[data-testid=canvas]').boundingBox())!;
    expect(centre.x).toBeGreaterThan(canvas.x);
    expect(centre.x).toBeLessThan(canvas.x + canvas.width);
    expect(centre.y).toBeGreaterThan(canvas.y);
    expect(centre.y).toBeLessThan(canvas.y + canvas.height);
    await page().keyboard.press('0');
    await expect.poll(async () => (await state()).scale).toBeCloseTo(before.scale, 5);
  });

  it('pans with space-drag and with the middle mouse button, without editing anything', async () => {
    const count = (await state()).annotations.length;
    const start = await toPage(100, 100);
    await page().keyboard.down(' ');
    await page().mouse.move(start.x, start.y);
    await page().mouse.down();
    await page().mouse.move(start.x + 40, start.y + 25, { steps: 5 });
    await page().mouse.up();
    await page().keyboard.up(' ');
    let moved = await toPage(100, 100);
    expect([Math.round(moved.x - start.x), Math.round(moved.y - start.y)]).toEqual([40, 25]);
    await page().mouse.move(moved.x, moved.y);
    await page().mouse.down({ button: 'middle' });
    await page().mouse.move(moved.x - 40, moved.y - 25, { steps: 5 });
    await page().mouse.up({ button: 'middle' });
    moved = await toPage(100, 100);
    expect([Math.round(moved.x - start.x), Math.round(moved.y - start.y)]).toEqual([0, 0]);
    expect((await state()).annotations.length).toBe(count);
  });

  it('accepts, rejects and accepts all above the threshold; the slider hides low scores', async () => {
    await page().locator('[data-testid=threshold]').fill('0.05');
    await page().click('[data-testid=prelabel]');
    // The run can be paused and resumed from the status bar.
    await page().click('[data-testid="prelabel.pause"]');
    await expect.poll(() => page().locator('[data-testid=progress]').textContent()).toMatch(/pre-label paused/);
    await page().click('[data-testid="prelabel.resume"]');
    await page().waitForFunction(() => /pre-label done/.test(document.querySelector('[data-testid=progress]')!.textContent ?? ''), null, { timeout: 120_000 });
    // Work on the image with the most predictions.
    const busiest = readProject((db) =>
      db.prepare(`SELECT image_id AS id, count(*) AS n FROM annotations WHERE origin = 'model' GROUP BY image_id ORDER BY n DESC, image_id LIMIT 1`).get(),
    ) as { id: number; n: number };
    expect(busiest.n).toBeGreaterThanOrEqual(4);
    await page().click(`[data-image-id="${busiest.id}"]`);
    await expect.poll(async () => (await state()).imageId).toBe(busiest.id);
    await expect.poll(async () => (await state()).annotations.filter((a) => a.origin === 'model').length).toBe(busiest.n);
    const predictions = (await state()).annotations.filter((a) => a.origin === 'model').sort((a, b) => b.score! - a.score!);
    const [first, second] = [predictions[0]!, predictions.at(-1)!];
    await page().click(`[data-annotation-id="${first.id}"]`);
    await page().keyboard.press('a');
    // Rejecting from the panel's button, without selecting the row.
    await page().click(`[data-annotation-id="${second.id}"] .verdict-rejected`);
    await whenSaved();
    const byId = new Map((await state()).annotations.map((a) => [a.id as string, a]));
    expect(byId.get(first.id)).toMatchObject({ state: 'accepted', origin: 'model' });
    expect(byId.get(second.id)).toMatchObject({ state: 'rejected' });
    expect(await page().locator(`[data-annotation-id="${second.id}"]`).getAttribute('class')).toContain('hidden');

    // A threshold just above the lowest pending score (the slider's step is 0.01): the others are above it.
    const pending = predictions.slice(1, -1);
    const threshold = Math.ceil(pending.at(-1)!.score! * 100 + 0.5) / 100;
    expect(pending[0]!.score).toBeGreaterThanOrEqual(threshold);
    await page().locator('[data-testid=threshold]').fill(String(threshold));
    const below = predictions.filter((a) => a.score! < threshold && a.id !== first.id).length;
    await expect.poll(() => page().locator('.instance.hidden[data-origin=model]').count()).toBeGreaterThanOrEqual(below);
    await page().keyboard.press('Shift+A');
    await whenSaved();
    const after = new Map((await state()).annotations.map((a) => [a.id as string, a]));
    for (const a of pending) expect(after.get(a.id)!.state).toBe(a.score! >= threshold ? 'accepted' : 'pending');
    expect(after.get(pending.at(-1)!.id)!.state).toBe('pending');
    await shot(page(), 'edit-03-accept');
  });

  it('marks the selected instance as a crowd region with C and back, saved to the project', async () => {
    const [target] = (await state()).annotations;
    await page().click(`[data-annotation-id="${target!.id}"]`);
    const storedCrowd = () =>
      readProject((db) => (db.prepare('SELECT crowd FROM annotations WHERE id = ?').get(target!.id) as { crowd: number }).crowd);
    await page().keyboard.press('c');
    await whenSaved();
    expect(await selected()).toMatchObject({ id: target!.id, crowd: true });
    expect(await page().locator(`[data-annotation-id="${target!.id}"] .class`).textContent()).toMatch(/\(crowd\)$/);
    expect(storedCrowd()).toBe(1);
    await page().keyboard.press('c');
    await whenSaved();
    expect(await selected()).not.toHaveProperty('crowd');
    expect(storedCrowd()).toBe(0);
  });

  it('filters the image list by class', async () => {
    const widget = await page().locator('.category', { hasText: 'widget' }).getAttribute('data-category-id');
    await page().selectOption('[data-testid=filter-class]', widget!);
    await expect.poll(() => page().locator('.image-row .name').allTextContents()).toEqual(['fabric.webp']);
    await page().selectOption('[data-testid=filter-class]', '');
    await expect.poll(() => page().locator('.image-row').count()).toBeGreaterThanOrEqual(10);
  });

  it('offers the installed models for pre-labelling, mask models first', async () => {
    const options = await page().locator('[data-testid=model] option').allTextContents();
    expect(options.length).toBeGreaterThanOrEqual(1);
    expect(await page().locator('[data-testid=model] option:checked').textContent()).toMatch(/masks/);
  });

  it('lets the person choose where the model runs: a provider that cannot start says why and starts nothing', async () => {
    expect(await page().locator('[data-testid=provider] option').allTextContents()).toEqual(['Auto (CUDA, else CPU)', 'CUDA', 'CPU']);
    expect(await page().locator('[data-testid=provider]').inputValue()).toBe('auto');
    const before = await page().locator('[data-testid=progress]').textContent();
    await page().selectOption('[data-testid=provider]', 'cuda');
    await page().click('[data-testid=prelabel]');
    await expect.poll(() => page().locator('[data-testid=message]').textContent()).toMatch(/^prelabel\.start: CUDA provider \('cuda'\) could not start: /);
    expect(await page().locator('[data-testid=progress]').textContent()).toBe(before);
    // Forced onto the CPU, a run (here of the images left: none) says so without a fallback.
    await page().selectOption('[data-testid=provider]', 'cpu');
    await page().click('[data-testid=prelabel]');
    await expect.poll(() => page().locator('[data-testid=progress]').textContent()).toMatch(/pre-label done: 0\/0 on CPU(, \d+ workers)?$/);
    await page().selectOption('[data-testid=provider]', 'auto');
  });

  it('steps to the next and previous image', async () => {
    const start = (await state()).imageId;
    await page().keyboard.press('d');
    await expect.poll(async () => (await state()).imageId).not.toBe(start);
    await page().keyboard.press('s');
    await expect.poll(async () => (await state()).imageId).toBe(start);
    expect(session.errors).toEqual([]);
  });

  it('opens another folder when the desktop shell asks (app.command)', async () => {
    const other = path.join(path.dirname(session.folder), 'other');
    await mkdir(other);
    await cp(path.join(session.folder, 'garden.jpg'), path.join(other, 'only.jpg'));
    session.serving.bridge.emit('app.command', { command: 'open-folder', folder: other });
    await expect.poll(() => page().locator('.image-row .name').allTextContents()).toEqual(['only.jpg']);
    await expect.poll(async () => (await state()).annotations.length).toBe(0);
    expect(await page().locator('[data-testid=progress]').textContent()).toContain('/ 1');
    await shot(page(), 'edit-04-other-folder');
    expect(session.errors).toEqual([]);
  });
});
