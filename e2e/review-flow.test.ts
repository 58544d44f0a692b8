// The review flow people expect, in Chromium over the bridge: messages that clear, unreadable files shown as
// such, a class asked for in a project without classes, keys back after a dropdown, Escape on the help, zoom to an
// instance, bulk actions, class filter, hide and lock, settings and the image kept in the project, and images
// added to the folder appearing. Each scenario works on its own image and makes what it needs through the
// contract; the first needs the fresh project's lack of classes, so it comes first.
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../app/geometry/rle.js';
import type { Annotation, Bbox, ImageRecord } from '../app/model/index.js';
import { openApp, shot, startSession, type Session } from './harness.js';
import { ReviewPage, UI_TIMEOUT } from './review-page.js';

let session: Session;
let review: ReviewPage;
const page = () => session.page;

beforeAll(async () => {
  session = await startSession('review-flow');
  review = new ReviewPage(session.page);
  await openApp(page(), session.serving.bridge.url);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

async function image(name: string): Promise<ImageRecord> {
  const { items } = await session.api.invoke('images.list', { limit: 100 });
  const found = items.find((i) => i.path === name);
  if (!found) throw new Error(`${name} is not in the folder`);
  return found;
}

/** The class's id, created from the panel (as a person would) when the project has none by that name. */
async function classId(name: string): Promise<number> {
  const { categories } = await session.api.invoke('categories.list', {});
  return categories.find((c) => c.name === name)?.id ?? review.useClass(name);
}

/** A rectangular mask on the image, as an instance: a pending prediction of the shipped model, or a person's. */
async function seed(target: ImageRecord, parts: readonly { box: Bbox; category: number; score?: number }[]): Promise<Annotation[]> {
  const { models } = await session.api.invoke('models.installed', {});
  const modelId = models.find((m) => m.id !== null)!.id!;
  const added = parts.map(({ box: [x, y, w, h], category, score }, i): Annotation => {
    const data = new Uint8Array(target.width * target.height);
    for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) data[r * target.width + c] = 1;
    return {
      id: `${target.path}-${i}-${Date.now()}` as Annotation['id'], imageId: target.id, categoryId: category as Annotation['categoryId'],
      bbox: [x, y, w, h], mask: encode({ width: target.width, height: target.height, data }),
      score: score ?? null, origin: score === undefined ? 'human' : 'model', modelId: score === undefined ? null : modelId,
      state: score === undefined ? 'accepted' : 'pending',
    };
  });
  await session.api.invoke('annotations.apply', { imageId: target.id, changes: { added, updated: [], removed: [] } });
  return added;
}

async function stored(imageId: number): Promise<Map<string, Annotation>> {
  const { annotations } = await session.api.invoke('annotations.list', { imageId });
  return new Map(annotations.map((a) => [a.id as string, a]));
}

const zoomShown = () => page().locator('[data-testid=zoom]').textContent();

describe('the review flow in Chromium', () => {
  it('in a project without classes, a drawn box asks for a class name and is made with it', async () => {
    expect((await session.api.invoke('categories.list', {})).categories).toEqual([]);
    const target = await image('street.jpg');
    await review.openImage(target.id);
    const drawn = await (async () => {
      await review.useTool('b', 'box');
      await review.drag([[40, 40], [120, 100]], 6);
      await page().waitForSelector('[data-testid=class-prompt]', { timeout: UI_TIMEOUT });
      await shot(page(), 'flow-01-class-prompt');
      // The field has the keys: typing a name and Enter does not reach the editor's shortcuts.
      await page().keyboard.type('vehicle');
      await page().keyboard.press('Enter');
      await review.whenSaved();
      await expect.poll(async () => (await review.snapshot()).selection, { timeout: UI_TIMEOUT }).not.toBeNull();
      return review.selected();
    })();
    expect(await page().locator('[data-testid=class-prompt]').count()).toBe(0);
    const vehicle = await classId('vehicle');
    expect(drawn).toMatchObject({ bbox: [40, 40, 80, 60], categoryId: vehicle, origin: 'human' });
    expect((await stored(target.id)).get(drawn.id)).toMatchObject({ categoryId: vehicle });
    await expect.poll(() => page().locator('.category.active .class').textContent(), { timeout: UI_TIMEOUT }).toBe('vehicle');
  });

  it('a message stays in the status bar until the next thing the person does', async () => {
    await review.openImage((await image('garden.jpg')).id);
    await review.reset();
    await review.press('z'); // nothing selected: the status bar says what z needs
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT }).toBe('Select an instance to zoom to it.');
    await review.press('v');
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT }).toBe('');
  });

  it('an unreadable file gets an error badge, a placeholder thumbnail and its reason in the list and in the panel', async () => {
    await writeFile(path.join(session.folder, 'zz-broken.jpg'), 'this is not a JPEG');
    await page().click('[data-testid=rescan]');
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT }).toMatch(/^Rescanned 11 image files: 1 new, 1 unreadable$/);
    const broken = await image('zz-broken.jpg');
    const viewport = page().locator('[data-testid=image-list]');
    await viewport.evaluate((el) => (el.scrollTop = el.scrollHeight));
    const row = page().locator(`[data-image-id="${broken.id}"]`);
    await row.waitFor({ timeout: UI_TIMEOUT });
    expect(await row.locator('[data-testid=badge]').textContent()).toBe('⚠ error');
    expect(await row.locator('[data-testid=thumb-placeholder]').count()).toBe(1);
    expect(await row.locator('img').count()).toBe(0);
    expect(await row.locator('[data-testid=image-problem]').textContent()).toBe(broken.error);
    await row.click();
    await expect.poll(async () => (await review.snapshot()).imageId, { timeout: UI_TIMEOUT }).toBe(broken.id);
    const panel = page().locator('[data-testid=image-problem-panel]');
    await expect.poll(() => panel.isVisible(), { timeout: UI_TIMEOUT }).toBe(true);
    expect(await panel.textContent()).toBe(`The file could not be read: ${broken.error}`);
    await shot(page(), 'flow-02-unreadable');
  });

  it('images added to the folder appear when the window has the focus again', async () => {
    await copyFile(path.join(session.folder, 'street.jpg'), path.join(session.folder, 'zz-added.jpg'));
    // The window getting the focus back rescans (at most every 10 s): keep giving it the focus until it has.
    await expect.poll(async () => {
      await page().evaluate(() => window.dispatchEvent(new Event('focus')));
      return page().evaluate(() => window.__loupe!.session.images.items.some((i) => i.path === 'zz-added.jpg'));
    }, { timeout: 60_000, interval: 500 }).toBe(true);
    expect(await review.message()).toMatch(/1 new/);
  });

  it('after a choice in a dropdown the keys reach the editor again', async () => {
    await review.openImage((await image('tiles.jpg')).id);
    await review.reset();
    await page().selectOption('[data-testid=filter-status]', 'new');
    await page().keyboard.press('b');
    await expect.poll(async () => (await review.snapshot()).tool, { timeout: UI_TIMEOUT }).toBe('box');
    await page().selectOption('[data-testid=filter-status]', '');
    await page().keyboard.press('v');
    await expect.poll(async () => (await review.snapshot()).tool, { timeout: UI_TIMEOUT }).toBe('select');
  });

  it('Escape closes the shortcuts', async () => {
    await page().click('button[data-action="help.toggle"]');
    await page().waitForSelector('[data-testid=help]', { timeout: UI_TIMEOUT });
    await page().keyboard.press('Escape');
    await expect.poll(() => page().locator('[data-testid=help]').count(), { timeout: UI_TIMEOUT }).toBe(0);
  });

  it('zooms to an instance on a double-click in the panel and with z; 0 and the zoom button fit; the zoom is shown', async () => {
    const target = await image('sand.jpg');
    const [small] = await seed(target, [{ box: [30, 30, 20, 16], category: await classId('vehicle') }]);
    await review.openImage(target.id);
    await review.reset();
    const fitted = await zoomShown();
    expect(fitted).toMatch(/^\d+%$/);
    await page().dblclick(`[data-annotation-id="${small!.id}"]`);
    await expect.poll(zoomShown, { timeout: UI_TIMEOUT }).not.toBe(fitted);
    const zoomed = await review.snapshot();
    expect(zoomed.selection).toBe(small!.id);
    // Centred on the instance.
    const centre = await review.toPage(40, 38);
    const box = (await page().locator('[data-testid=canvas]').boundingBox())!;
    expect(Math.abs(centre.x - (box.x + box.width / 2))).toBeLessThan(2);
    expect(Math.abs(centre.y - (box.y + box.height / 2))).toBeLessThan(2);
    await review.press('0');
    await expect.poll(zoomShown, { timeout: UI_TIMEOUT }).toBe(fitted);
    await review.press('z');
    await expect.poll(zoomShown, { timeout: UI_TIMEOUT }).toBe(`${Math.round(zoomed.scale * 100)}%`);
    await page().click('[data-testid=zoom]');
    await expect.poll(zoomShown, { timeout: UI_TIMEOUT }).toBe(fitted);
  });

  it('several selected (Ctrl+A, a rectangle): the bulk bar reclassifies, accepts and deletes them together; Reject < threshold rejects only the low ones', async () => {
    const target = await image('poster.png');
    const [vehicle, person] = [await classId('vehicle'), await classId('person')];
    const [a, b, low] = await seed(target, [
      { box: [20, 20, 40, 30], category: vehicle, score: 0.9 },
      { box: [100, 20, 40, 30], category: vehicle, score: 0.8 },
      { box: [20, 120, 40, 30], category: vehicle, score: 0.2 },
    ]);
    await review.openImage(target.id);
    await review.reset();
    // Ctrl+A takes every instance shown (the page's own select-all does not happen).
    await review.press('Control+a');
    await expect.poll(() => page().locator('[data-testid=selected-count]').textContent(), { timeout: UI_TIMEOUT }).toBe('2 selected');
    await review.press('Escape');
    await review.drag([[10, 10], [150, 60]], 6); // a rectangle over the first two
    await expect.poll(() => page().locator('[data-testid=bulk]').isVisible(), { timeout: UI_TIMEOUT }).toBe(true);
    expect(await page().locator('[data-testid=bulk] .bulk-count').textContent()).toBe('2 selected');
    expect(await page().locator('[data-testid=selected-count]').textContent()).toBe('2 selected');
    await shot(page(), 'flow-03-bulk');
    await page().selectOption('[data-testid=bulk-class]', String(person));
    await review.whenSaved();
    // Keys reach the editor after the dropdown: A accepts both.
    await page().keyboard.press('a');
    await review.whenSaved();
    let now = await stored(target.id);
    expect([now.get(a!.id), now.get(b!.id)].map((x) => [x!.categoryId, x!.state])).toEqual([[person, 'accepted'], [person, 'accepted']]);
    await page().click('button[data-action="instance.rejectBelow"]');
    await review.whenSaved();
    now = await stored(target.id);
    expect(now.get(low!.id)!.state).toBe('rejected');
    await review.drag([[10, 10], [150, 60]], 6);
    await page().click('[data-testid=bulk-delete]');
    await review.whenSaved();
    now = await stored(target.id);
    expect(now.has(a!.id) || now.has(b!.id)).toBe(false);
  });

  it('the class filter, a hidden class and a locked class shape what the canvas and the panel show and take', async () => {
    const target = await image('fabric.webp');
    const [vehicle, person] = [await classId('vehicle'), await classId('person')];
    const [car, walker] = await seed(target, [{ box: [20, 20, 40, 30], category: vehicle }, { box: [100, 100, 40, 30], category: person }]);
    await review.openImage(target.id);
    await review.reset();
    const rows = () => page().locator('[data-testid=instances] .instance').evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.annotationId));
    expect(await rows()).toEqual([car!.id, walker!.id]);
    await page().selectOption('[data-testid=filter-class]', String(person));
    await expect.poll(rows, { timeout: UI_TIMEOUT }).toEqual([walker!.id]);
    await review.clickAt(40, 35);
    expect((await review.snapshot()).selection).toBeNull();
    await page().selectOption('[data-testid=filter-class]', '');
    await expect.poll(rows, { timeout: UI_TIMEOUT }).toEqual([car!.id, walker!.id]);
    await page().locator(`.category[data-category-id="${person}"] [data-testid=class-hide]`).click();
    await expect.poll(rows, { timeout: UI_TIMEOUT }).toEqual([car!.id]);
    await page().locator(`.category[data-category-id="${person}"] [data-testid=class-hide]`).click();
    await page().locator(`.category[data-category-id="${vehicle}"] [data-testid=class-lock]`).click();
    await review.nextFrame();
    await review.clickAt(40, 35);
    expect((await review.snapshot()).selection).toBeNull();
    await review.clickAt(120, 115);
    expect((await review.snapshot()).selection).toBe(walker!.id);
    await page().locator(`.category[data-category-id="${vehicle}"] [data-testid=class-lock]`).click();
    await review.reset();
    await review.clickAt(40, 35);
    expect((await review.snapshot()).selection).toBe(car!.id);
    await shot(page(), 'flow-04-classes');
  });

  it('keeps the settings and the image in the project: a reload comes back to them', async () => {
    const target = await image('wall.jpg');
    await review.openImage(target.id);
    await review.reset();
    await page().locator('[data-testid=threshold]').fill('0.3');
    await page().locator('[data-testid=opacity]').fill('0.7');
    await page().check('[data-testid=auto-advance]');
    await review.useTool('m', 'brush');
    // Saved half a second after the last change.
    await expect.poll(async () => (await session.api.invoke('project.settings', {})).settings, { timeout: UI_TIMEOUT })
      .toMatchObject({ threshold: 0.3, opacity: 0.7, autoAdvance: true, tool: 'brush', imageId: target.id });
    await page().reload();
    await page().waitForSelector('#app[data-ready="true"]', { timeout: UI_TIMEOUT });
    const after = await page().evaluate(() => {
      const s = window.__loupe!.session;
      return { image: s.image?.path, threshold: s.settings.threshold, opacity: s.settings.opacity, autoAdvance: s.settings.autoAdvance, tool: s.settings.tool };
    });
    expect(after).toEqual({ image: 'wall.jpg', threshold: 0.3, opacity: 0.7, autoAdvance: true, tool: 'brush' });
    expect(await page().locator('[data-testid=threshold]').inputValue()).toBe('0.3');
    expect(await page().locator('[data-testid=auto-advance]').isChecked()).toBe(true);
    await review.useTool('v', 'select');
    await page().uncheck('[data-testid=auto-advance]');
  });

  it('shows pending and accepted instances apart, boxes with a halo, and raised no page errors', async () => {
    const target = await image('kitchen/table.jpg');
    const vehicle = await classId('vehicle');
    await seed(target, [{ box: [20, 20, 60, 40], category: vehicle, score: 0.9 }, { box: [120, 20, 60, 40], category: vehicle }]);
    await review.openImage(target.id);
    await review.reset();
    await review.nextFrame();
    await shot(page(), 'flow-05-pending-accepted');
    expect(session.errors).toEqual([]);
  });
});
