// The image list with 50,000 images in Chromium: virtualised rows, keyset pages loaded as you scroll,
// search and status filters answered by the real store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageId } from '../app/model/index.js';
import { startBridge, type Bridge } from '../main/bridge/server.js';
import { localRenderer } from '../main/untrusted/images.js';
import { createMediaService } from '../main/media/index.js';
import { openProject, type ProjectStore } from '../main/store/index.js';
import { dispatcherOver, servicesOver } from '../main/testing/services.test-support.js';
import { ARTIFACTS, buildRenderer, CHROMIUM_ARGS, shot } from './harness.js';
import { UI_TIMEOUT } from './review-page.js';

const COUNT = 50_000;
const name = (i: number) => `d${String(Math.floor(i / 1000)).padStart(2, '0')}/img_${String(i).padStart(5, '0')}.jpg`;

let work: string;
let store: ProjectStore;
let bridge: Bridge;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'loupe-e2e-list-'));
  const rendererDir = buildRenderer(work);
  // Rows only: the files do not exist, so thumbnails answer 404 and the list must not care.
  store = openProject(work);
  store.images.writeFiles(Array.from({ length: COUNT }, (_, i) => ({
    file: { path: name(i), width: 640, height: 480, orientation: 1, hash: `h${i}`, size: 1000, mtimeMs: 0, error: null },
  })));
  store.images.setStatus(Array.from({ length: 25 }, (_, i) => ImageId(i * 2000 + 1)), 'reviewed');
  const media = createMediaService({ folder: () => work, renderer: localRenderer });
  bridge = await startBridge({ media, rendererDir, dispatch: dispatcherOver(servicesOver(store)) });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  await page.goto(bridge.url);
  await page.waitForSelector('#app[data-ready="true"]', { timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.close();
  store?.close();
  await rm(work, { recursive: true, force: true });
});

const rows = () => page.locator('.image-row').count();
const names = () => page.locator('.image-row .name').allTextContents();

describe('image list with 50,000 images', () => {
  it('renders only the visible rows', async () => {
    expect(await page.locator('[data-testid=progress]').textContent()).toContain(`/ ${COUNT}`);
    const count = await rows();
    expect(count).toBeGreaterThan(5);
    expect(count).toBeLessThan(60);
  });

  it('scrolls to the last image, loading pages as it goes, with the DOM staying small', { timeout: 180_000 }, async () => {
    const started = Date.now();
    // Each frame: scroll to the bottom of what is loaded, until the last image is the last row.
    await page.waitForFunction(() => {
      const viewport = document.querySelector('.image-viewport')!;
      viewport.scrollTop = viewport.scrollHeight;
      return [...document.querySelectorAll('.image-row .name')].at(-1)?.textContent === 'img_49999.jpg';
    }, null, { polling: 'raf', timeout: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    expect((await names()).at(-1)).toBe('img_49999.jpg');
    expect(await rows()).toBeLessThan(60);
    expect(await page.evaluate(() => window.__loupe!.session.images.items.length)).toBe(COUNT);
    console.log(`scrolled through ${COUNT} images in ${seconds.toFixed(1)} s`);
    await shot(page, 'list-50k-bottom');
  });

  it('searches file names and filters by status through the store', async () => {
    await page.fill('[data-testid=filter-search]', 'img_04999');
    await expect.poll(names, { timeout: UI_TIMEOUT }).toEqual(['img_04999.jpg']);
    await page.fill('[data-testid=filter-search]', '');
    await page.selectOption('[data-testid=filter-status]', 'reviewed');
    const listed = () => page.evaluate(() => window.__loupe!.session.images.items.map((i) => i.status));
    await expect.poll(async () => (await listed()).length, { timeout: UI_TIMEOUT }).toBe(25);
    expect(new Set(await listed())).toEqual(new Set(['reviewed']));
    // The store's page arrives before the list re-renders its rows (it was scrolled to the bottom).
    await expect.poll(async () => (await names())[0], { timeout: UI_TIMEOUT }).toBe('img_00000.jpg');
    expect(await page.locator('.image-row .status-reviewed').count()).toBe(await rows());
    await shot(page, 'list-50k-reviewed');
    expect(ARTIFACTS).toContain('test-results');
  });
});
