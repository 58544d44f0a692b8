// Editing tools in Chromium over the bridge: box draw/move/resize, vertex edit, fill holes, accept/reject,
// threshold, prev/next and zoom to the cursor. Each scenario works on its own image and makes what it needs.
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../app/geometry/rle.js';
import type { Annotation, ImageRecord, Rle } from '../app/model/index.js';
import { openApp, shot, startSession, type Session } from './harness.js';
import { ReviewPage, RUN_TIMEOUT, UI_TIMEOUT } from './review-page.js';

let session: Session;
let review: ReviewPage;
const page = () => session.page;

const area = (rle: Rle) => decode(rle).data.reduce((n, v) => n + v, 0);

beforeAll(async () => {
  session = await startSession('editing');
  review = new ReviewPage(session.page);
  await openApp(page(), session.serving.bridge.url);
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

/** Opens the named sample image with the select tool and `className` as the class for new instances. */
async function openSample(name: string, className = 'widget'): Promise<ImageRecord> {
  const record = await image(name);
  await review.openImage(record.id);
  await review.reset();
  await review.useClass(className);
  return record;
}

async function stored(imageId: number): Promise<Map<string, Annotation>> {
  const { annotations } = await session.api.invoke('annotations.list', { imageId });
  return new Map(annotations.map((a) => [a.id as string, a]));
}

describe('editing tools', () => {
  it('creates a class from the panel; it becomes the class for new instances, and keys reach the editor again', async () => {
    await page().fill('[data-testid=new-class]', 'gadget');
    await page().press('[data-testid=new-class]', 'Enter');
    await expect.poll(() => page().locator('.category.active .class').textContent(), { timeout: UI_TIMEOUT }).toBe('gadget');
    expect((await session.api.invoke('categories.list', {})).categories.map((c) => c.name)).toContain('gadget');
    await page().locator('[data-testid=canvas]').click({ position: { x: 5, y: 5 } });
    await page().keyboard.press('b');
    await expect.poll(async () => (await review.snapshot()).tool, { timeout: UI_TIMEOUT }).toBe('box');
  });

  it('draws a box, moves it by dragging and resizes it with a handle, each one undo step', async () => {
    await openSample('fabric.webp');
    const drawn = await review.drawBox([60, 60], [140, 120]);
    expect(drawn).toMatchObject({ bbox: [60, 60, 80, 60], mask: null, origin: 'human' });
    await review.useTool('v', 'select');
    await review.drag([[100, 90], [130, 110]], 6); // drag the selected box by its inside
    await review.whenSaved();
    expect((await review.selected()).bbox.map(Math.round)).toEqual([90, 80, 80, 60]);
    // The bottom-right handle sits on the box corner.
    await review.drag([[170, 140], [190, 150]], 6);
    await review.whenSaved();
    const [x, y, w, h] = (await review.selected()).bbox.map(Math.round);
    expect([x, y]).toEqual([90, 80]);
    expect(w).toBeGreaterThan(95);
    expect(h).toBeGreaterThan(65);
    expect((await stored(drawn.imageId)).get(drawn.id)!.bbox.map(Math.round)).toEqual([x, y, w, h]);
    await shot(page(), 'edit-01-box');
    await review.press('Control+z');
    await review.press('Control+z');
    await review.whenSaved();
    expect((await review.selected()).bbox).toEqual([60, 60, 80, 60]);
    expect((await stored(drawn.imageId)).get(drawn.id)!.bbox).toEqual([60, 60, 80, 60]);
  });

  it('resizing a masked instance keeps its mask (Shift scales it); a rectangle and Shift-click select several for one verdict', async () => {
    await openSample('kitchen/table.jpg');
    const square = await review.drawPolygon([[40, 40], [100, 40], [100, 100], [40, 100]]);
    const squareArea = area(square.mask!);
    await review.useTool('v', 'select');
    const [x, y, w, h] = square.bbox;
    await review.drag([[x + w, y + h], [x + w + 40, y + h + 30]], 6); // the bottom-right handle, outwards
    await review.whenSaved();
    const grown = await review.selected();
    expect(grown.bbox.map(Math.round)).toEqual([x, y, w + 40, h + 30].map(Math.round));
    expect(grown.mask).toEqual(square.mask); // kept, not stretched
    await page().keyboard.down('Shift');
    await review.drag([[x + w + 40, y + h + 30], [x + w, y + h]], 6);
    await page().keyboard.up('Shift');
    await review.whenSaved();
    expect(area((await review.selected()).mask!)).toBeLessThan(squareArea); // scaled down with the box
    expect((await stored(square.imageId)).get(square.id)!.bbox.map(Math.round)).toEqual([x, y, w, h].map(Math.round));

    const other = await review.drawBox([150, 40], [200, 90]);
    await review.useTool('v', 'select');
    // A rectangle from empty space over both, then Shift-click takes one out and puts it back.
    await review.drag([[30, 30], [210, 120]], 6);
    const selection = () => page().evaluate(() => [...window.__loupe!.session.selection] as string[]);
    expect(new Set(await selection())).toEqual(new Set([square.id, other.id]));
    const [ox, oy] = [other.bbox[0] + 10, other.bbox[1] + 10];
    const p = await review.toPage(ox, oy);
    await page().keyboard.down('Shift');
    await page().mouse.click(p.x, p.y);
    expect(await selection()).toEqual([square.id]);
    await page().mouse.click(p.x, p.y);
    await page().keyboard.up('Shift');
    expect(await selection()).toEqual([square.id, other.id]);
    await review.press('r');
    await review.whenSaved();
    const saved = await stored(square.imageId);
    expect([saved.get(square.id)!.state, saved.get(other.id)!.state]).toEqual(['rejected', 'rejected']);
    await review.press('Control+z');
    await review.whenSaved();
    expect((await stored(square.imageId)).get(other.id)!.state).toBe('accepted');
    await shot(page(), 'edit-05-multi-select');
  });

  it('edits an outline vertex and fills a hole', async () => {
    await openSample('garden.jpg');
    const square = await review.drawPolygon([[200, 40], [300, 40], [300, 140], [200, 140]]);
    const squareArea = area(square.mask!);
    await review.useTool('e', 'vertices');
    await review.drag([[300, 140], [330, 170]], 6); // pull the bottom-right corner out
    await review.whenSaved();
    const pulled = await review.selected();
    expect(pulled.id).toBe(square.id);
    expect(area(pulled.mask!)).toBeGreaterThan(squareArea);
    expect(pulled.bbox[0] + pulled.bbox[2]).toBeGreaterThan(320);
    await shot(page(), 'edit-02-vertex');
    // Erase a hole in the middle, then fill it.
    await review.useTool('x', 'eraser');
    await review.drag([[245, 90], [255, 90]], 6);
    await review.whenSaved();
    const holed = await review.selected();
    expect(decode(holed.mask!).data[90 * holed.mask!.size[1] + 250]).toBe(0);
    await review.press('f');
    await review.whenSaved();
    const filled = await review.selected();
    expect(decode(filled.mask!).data[90 * filled.mask!.size[1] + 250]).toBe(1);
    expect(area(filled.mask!)).toBe(area(pulled.mask!));
    expect((await stored(filled.imageId)).get(filled.id)!.mask).toEqual(filled.mask);
  });

  it('zooms to the cursor: the image point under the pointer stays put', async () => {
    const { width, height } = await openSample('tiles.jpg');
    // An instance in the far corner, to bring back on screen from the panel below.
    const far = await review.drawBox([width - 70, height - 60], [width - 20, height - 20]);
    await review.reset();
    await review.press('0');
    const before = await review.snapshot();
    const anchor = await review.toPage(150, 100);
    await page().mouse.move(anchor.x, anchor.y);
    await page().mouse.wheel(0, -300);
    await expect.poll(async () => (await review.snapshot()).scale, { timeout: UI_TIMEOUT }).toBeGreaterThan(before.scale * 1.2);
    const after = await review.toPage(150, 100);
    expect(Math.abs(after.x - anchor.x)).toBeLessThan(1.5);
    expect(Math.abs(after.y - anchor.y)).toBeLessThan(1.5);
    // Far in on one corner, a panel click on an instance elsewhere brings it on screen.
    for (let i = 0; i < 8; i++) await page().mouse.wheel(0, -300);
    await expect.poll(async () => (await review.snapshot()).scale, { timeout: UI_TIMEOUT }).toBeGreaterThan(before.scale * 4);
    const [x, y, w, h] = far.bbox;
    const canvas = (await page().locator('[data-testid=canvas]').boundingBox())!;
    const onScreen = async () => {
      const centre = await review.toPage(x + w / 2, y + h / 2);
      return centre.x > canvas.x && centre.x < canvas.x + canvas.width && centre.y > canvas.y && centre.y < canvas.y + canvas.height;
    };
    expect(await onScreen()).toBe(false);
    await review.selectRow(far.id);
    await expect.poll(onScreen, { timeout: UI_TIMEOUT }).toBe(true);
    await review.press('0');
    await expect.poll(async () => (await review.snapshot()).scale, { timeout: UI_TIMEOUT }).toBeCloseTo(before.scale, 5);
  });

  it('pans with space-drag and with the middle mouse button, without editing anything', async () => {
    await openSample('sand.jpg');
    const count = (await review.snapshot()).annotations.length;
    const start = await review.toPage(100, 100);
    await page().keyboard.down(' ');
    await page().mouse.move(start.x, start.y);
    await page().mouse.down();
    await page().mouse.move(start.x + 40, start.y + 25, { steps: 5 });
    await page().mouse.up();
    await page().keyboard.up(' ');
    let moved = await review.toPage(100, 100);
    expect([Math.round(moved.x - start.x), Math.round(moved.y - start.y)]).toEqual([40, 25]);
    await page().mouse.move(moved.x, moved.y);
    await page().mouse.down({ button: 'middle' });
    await page().mouse.move(moved.x - 40, moved.y - 25, { steps: 5 });
    await page().mouse.up({ button: 'middle' });
    moved = await review.toPage(100, 100);
    expect([Math.round(moved.x - start.x), Math.round(moved.y - start.y)]).toEqual([0, 0]);
    await review.whenSaved();
    expect((await review.snapshot()).annotations.length).toBe(count);
  });

  it('accepts, rejects and accepts all above the threshold; the slider hides low scores', async () => {
    await review.settleRun();
    await page().locator('[data-testid=threshold]').fill('0.05');
    await page().click('[data-testid=prelabel]');
    // The run can be paused and resumed from the status bar (once its worker processes have started).
    await page().click('[data-testid="prelabel.pause"]', { timeout: RUN_TIMEOUT });
    await expect.poll(() => review.progress(), { timeout: UI_TIMEOUT }).toMatch(/pre-label paused/);
    await page().click('[data-testid="prelabel.resume"]', { timeout: UI_TIMEOUT });
    await review.runDone();
    // Work on the image with the most predictions.
    const { items } = await session.api.invoke('images.list', { limit: 100 });
    let busiest = { id: 0, n: 0 };
    for (const item of items) {
      const n = [...(await stored(item.id)).values()].filter((a) => a.origin === 'model').length;
      if (n > busiest.n) busiest = { id: item.id, n };
    }
    expect(busiest.n).toBeGreaterThanOrEqual(4);
    await review.openImage(busiest.id);
    await review.reset();
    await expect.poll(async () => (await review.snapshot()).annotations.filter((a) => a.origin === 'model').length, { timeout: UI_TIMEOUT }).toBe(busiest.n);
    const predictions = (await review.snapshot()).annotations.filter((a) => a.origin === 'model').sort((a, b) => b.score! - a.score!);
    const [first, second] = [predictions[0]!, predictions.at(-1)!];
    await review.selectRow(first.id);
    await review.press('a');
    // Rejecting from the panel's button, without selecting the row.
    await page().click(`[data-annotation-id="${second.id}"] .verdict-rejected`);
    await review.whenSaved();
    const byId = new Map((await review.snapshot()).annotations.map((a) => [a.id as string, a]));
    expect(byId.get(first.id)).toMatchObject({ state: 'accepted', origin: 'model' });
    expect(byId.get(second.id)).toMatchObject({ state: 'rejected' });
    expect((await stored(busiest.id)).get(second.id)).toMatchObject({ state: 'rejected' });
    await expect.poll(() => page().locator(`[data-annotation-id="${second.id}"]`).getAttribute('class'), { timeout: UI_TIMEOUT }).toContain('hidden');

    // A threshold just above the lowest pending score (the slider's step is 0.01): the others are above it.
    const pending = predictions.slice(1, -1);
    const threshold = Math.ceil(pending.at(-1)!.score! * 100 + 0.5) / 100;
    expect(pending[0]!.score).toBeGreaterThanOrEqual(threshold);
    await page().locator('[data-testid=threshold]').fill(String(threshold));
    const below = predictions.filter((a) => a.score! < threshold && a.id !== first.id).length;
    await expect.poll(() => page().locator('.instance.hidden[data-origin=model]').count(), { timeout: UI_TIMEOUT }).toBeGreaterThanOrEqual(below);
    await review.press('Shift+A');
    await review.whenSaved();
    const after = new Map((await review.snapshot()).annotations.map((a) => [a.id as string, a]));
    for (const a of pending) expect(after.get(a.id)!.state).toBe(a.score! >= threshold ? 'accepted' : 'pending');
    expect(after.get(pending.at(-1)!.id)!.state).toBe('pending');
    await shot(page(), 'edit-03-accept');
  }, RUN_TIMEOUT + 60_000);

  it('marks the selected instance as a crowd region with C and back, saved to the project', async () => {
    await openSample('street.jpg');
    const target = await review.drawBox([40, 40], [120, 100]);
    await review.useTool('v', 'select');
    await review.selectRow(target.id);
    const storedCrowd = async () => (await stored(target.imageId)).get(target.id)!.crowd ?? false;
    await review.press('c');
    await review.whenSaved();
    expect(await review.selected()).toMatchObject({ id: target.id, crowd: true });
    await expect.poll(() => page().locator(`[data-annotation-id="${target.id}"] .class`).textContent(), { timeout: UI_TIMEOUT }).toMatch(/\(crowd\)$/);
    expect(await storedCrowd()).toBe(true);
    await review.press('c');
    await review.whenSaved();
    expect(await review.selected()).not.toHaveProperty('crowd');
    expect(await storedCrowd()).toBe(false);
  });

  it('filters the image list by class', async () => {
    await openSample('wall.jpg', 'only-on-wall');
    await review.drawBox([50, 50], [100, 100]);
    const only = await page().locator('.category.active').getAttribute('data-category-id');
    await page().selectOption('[data-testid=filter-class]', only!);
    await expect.poll(() => page().locator('.image-row .name').allTextContents(), { timeout: UI_TIMEOUT }).toEqual(['wall.jpg']);
    await page().selectOption('[data-testid=filter-class]', '');
    await expect.poll(() => page().locator('.image-row').count(), { timeout: UI_TIMEOUT }).toBeGreaterThanOrEqual(10);
  });

  it('offers the installed models for pre-labelling, mask models first', async () => {
    const options = await page().locator('[data-testid=model] option').allTextContents();
    expect(options.length).toBeGreaterThanOrEqual(1);
    expect(await page().locator('[data-testid=model] option:checked').textContent()).toMatch(/masks/);
  });

  it('lets the person choose where the model runs: a provider that cannot start says why and starts nothing', async () => {
    expect(await page().locator('[data-testid=provider] option').allTextContents()).toEqual(['Auto (CUDA, else CPU)', 'CUDA', 'CPU']);
    expect(await page().locator('[data-testid=provider]').inputValue()).toBe('auto');
    await review.settleRun();
    const before = await review.progress();
    await page().selectOption('[data-testid=provider]', 'cuda');
    await page().click('[data-testid=prelabel]');
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT }).toMatch(/^prelabel\.start: CUDA provider \('cuda'\) could not start: /);
    expect(await review.progress()).toBe(before);
    // Forced onto the CPU, a run (of the images this model has not seen yet) says so without a fallback.
    await page().selectOption('[data-testid=provider]', 'cpu');
    await page().click('[data-testid=prelabel]');
    await expect.poll(() => review.progress(), { timeout: RUN_TIMEOUT }).toMatch(/pre-label done: (\d+)\/\1 on CPU(, \d+ workers)?$/);
    await page().selectOption('[data-testid=provider]', 'auto');
  }, RUN_TIMEOUT + 60_000);

  it('steps to the next and previous image', async () => {
    const start = (await image('kitchen/floor.jpg')).id;
    await review.openImage(start);
    await review.reset();
    await review.press('d');
    await expect.poll(async () => (await review.snapshot()).imageId, { timeout: UI_TIMEOUT }).not.toBe(start);
    await review.press('s');
    await expect.poll(async () => (await review.snapshot()).imageId, { timeout: UI_TIMEOUT }).toBe(start);
    expect(session.errors).toEqual([]);
  });

  it('opens another folder when the desktop shell asks (app.command)', async () => {
    const other = path.join(path.dirname(session.folder), 'other');
    await mkdir(other);
    await cp(path.join(session.folder, 'garden.jpg'), path.join(other, 'only.jpg'));
    // As the desktop menu does: main hands the folder it chose out as a handle.
    session.serving.bridge.emit('app.command', { command: 'open-folder', folder: session.serving.services.files.grant('project-folder', other) });
    await expect.poll(() => page().locator('.image-row .name').allTextContents(), { timeout: UI_TIMEOUT }).toEqual(['only.jpg']);
    await expect.poll(async () => (await review.snapshot()).annotations.length, { timeout: UI_TIMEOUT }).toBe(0);
    expect(await review.progress()).toContain('/ 1');
    await shot(page(), 'edit-04-other-folder');
    expect(session.errors).toEqual([]);
  });
});
