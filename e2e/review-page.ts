// The review screen as the e2e tests drive it: what is on screen (read through the app's test hooks,
// `window.__loupe`), pointer gestures in image pixels, and the few set-up steps every scenario repeats.
// Every wait here is on an event or a state, with a timeout sized for a loaded 2-core machine.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { decode } from '../app/geometry/rle.js';
import type { Annotation, Rle } from '../app/model/index.js';
import type { ExportReport } from '../renderer/editor/transfers.js';

/** Waits on the page (a frame, a save, a state) that a busy machine can stretch to seconds. */
export const UI_TIMEOUT = 20_000;
/** Waits on a pre-label run: worker processes starting and the model running on every sample image. */
export const RUN_TIMEOUT = 240_000;

export interface Snapshot {
  readonly imageId: number;
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly annotations: Annotation[];
  readonly selection: string | null;
  readonly tool: string;
  readonly scale: number;
}

export class ReviewPage {
  constructor(readonly page: Page) {}

  snapshot(): Promise<Snapshot> {
    return this.page.evaluate((): Snapshot => {
      const session = window.__loupe!.session;
      const { id, path, width, height } = session.image!;
      return {
        imageId: id, path, width, height, annotations: [...session.annotations], selection: session.primary,
        tool: session.settings.tool, scale: session.camera.scale,
      };
    });
  }

  async selected(): Promise<Annotation> {
    const s = await this.snapshot();
    const found = s.annotations.find((a) => a.id === s.selection);
    if (!found) throw new Error(`nothing selected on ${s.path}`);
    return found;
  }

  /** Resolves when every edit made so far is saved. */
  whenSaved(): Promise<void> {
    return this.page.evaluate(() => window.__loupe!.session.whenSaved());
  }

  /** One animation frame of the page, so what a key or click queued for drawing is drawn. */
  nextFrame(): Promise<void> {
    return this.page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => resolve())));
  }

  /** Image pixel -> page coordinates on the canvas. */
  toPage(x: number, y: number): Promise<{ x: number; y: number }> {
    return this.page.evaluate(([px, py]) => window.__loupe!.canvas.toClient({ x: px!, y: py! }), [x, y]);
  }

  async clickAt(x: number, y: number): Promise<void> {
    const p = await this.toPage(x, y);
    await this.page.mouse.click(p.x, p.y);
  }

  /** Presses at the first point, moves through the others and releases at the last (image pixels). */
  async drag(points: readonly (readonly [number, number])[], steps = 4): Promise<void> {
    const mouse = this.page.mouse;
    const first = await this.toPage(...points[0]!);
    await mouse.move(first.x, first.y);
    await mouse.down();
    for (const [x, y] of points.slice(1)) {
      const q = await this.toPage(x, y);
      await mouse.move(q.x, q.y, { steps });
    }
    await mouse.up();
  }

  /** Presses a key on the editor (focus taken away from any field first). */
  async press(key: string): Promise<void> {
    await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await this.page.keyboard.press(key);
  }

  /** Picks a tool by its key and waits until it is the active one. */
  async useTool(key: string, tool: string): Promise<void> {
    await this.press(key);
    await expect.poll(async () => (await this.snapshot()).tool, { timeout: UI_TIMEOUT }).toBe(tool);
    await this.nextFrame();
  }

  /** The select tool, no gesture in progress, nothing selected. */
  async reset(): Promise<void> {
    await this.press('Escape');
    await this.press('Escape');
    await this.useTool('v', 'select');
  }

  /** Opens an image from the list and waits until it is on screen with its annotations. */
  async openImage(id: number): Promise<Snapshot> {
    await this.page.click(`[data-image-id="${id}"]`, { timeout: UI_TIMEOUT });
    await expect.poll(async () => (await this.snapshot()).imageId, { timeout: UI_TIMEOUT }).toBe(id);
    await this.nextFrame();
    return this.snapshot();
  }

  /** Makes `name` the class for new instances, creating it from the panel when the project has none by that name. */
  async useClass(name: string): Promise<number> {
    const existing = this.page.locator('.category', { has: this.page.locator('.class', { hasText: new RegExp(`^${name}$`) }) });
    if (await existing.count() === 0) {
      await this.page.fill('[data-testid=new-class]', name);
      await this.page.press('[data-testid=new-class]', 'Enter');
    } else {
      await existing.click();
    }
    await expect.poll(() => this.page.locator('.category.active .class').textContent(), { timeout: UI_TIMEOUT }).toBe(name);
    await this.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    return Number(await this.page.locator('.category.active').getAttribute('data-category-id'));
  }

  /** Draws a closed polygon through the points (image pixels) with the polygon tool; returns the new instance. */
  async drawPolygon(points: readonly (readonly [number, number])[]): Promise<Annotation> {
    await this.useTool('p', 'polygon');
    for (const [x, y] of points) await this.clickAt(x, y);
    await this.press('Enter');
    await this.whenSaved();
    return this.selected();
  }

  /** Draws a box by dragging with the box tool; returns the new instance. */
  async drawBox(from: readonly [number, number], to: readonly [number, number]): Promise<Annotation> {
    await this.useTool('b', 'box');
    const before = new Set<string>((await this.snapshot()).annotations.map((a) => a.id));
    await this.drag([from, to], 6);
    await this.whenSaved();
    // The new box is the selection (a run may add predictions meanwhile, so counting would not say which).
    await expect.poll(async () => {
      const s = await this.snapshot();
      return s.selection !== null && !before.has(s.selection) && s.annotations.some((a) => a.id === s.selection);
    }, { timeout: UI_TIMEOUT }).toBe(true);
    return this.selected();
  }

  /** Selects an instance by its row in the side panel. */
  async selectRow(id: string): Promise<void> {
    await this.page.click(`[data-annotation-id="${id}"]`, { timeout: UI_TIMEOUT });
    await expect.poll(async () => (await this.snapshot()).selection, { timeout: UI_TIMEOUT }).toBe(id);
  }

  /** Exports from the toolbar's Export dialog with what it shows (its defaults unless changed); returns its report. */
  async exportFromDialog(choose: (page: Page) => Promise<void> = async () => {}): Promise<ExportReport> {
    await this.page.click('[data-testid=export]');
    await this.page.waitForSelector('[data-testid=export-dialog]', { timeout: UI_TIMEOUT });
    await choose(this.page);
    await this.page.click('[data-testid=export-run]');
    await this.page.waitForFunction(() => {
      const dialog = window.__loupe!.session.exportDialog;
      return dialog !== null && (dialog.report !== null || dialog.error !== null);
    }, null, { timeout: UI_TIMEOUT });
    const dialog = await this.page.evaluate(() => window.__loupe!.session.exportDialog!);
    if (dialog.error !== null) throw new Error(`the export failed: ${dialog.error}`);
    await this.page.click('[data-testid=export-close]');
    return dialog.report!;
  }

  progress(): Promise<string> {
    return this.page.locator('[data-testid=progress]').textContent().then((t) => t ?? '');
  }

  message(): Promise<string> {
    return this.page.locator('[data-testid=message]').textContent().then((t) => t ?? '');
  }

  /** Lets a run left paused by an earlier scenario go on, and waits until no run is going. */
  async settleRun(): Promise<void> {
    const resume = this.page.locator('[data-testid="prelabel.resume"]');
    if (await resume.count() > 0) await resume.click();
    await this.page.waitForFunction(() => !/pre-label (running|paused)/.test(document.querySelector('[data-testid=progress]')!.textContent ?? ''), null, { timeout: RUN_TIMEOUT });
  }

  /** Waits until the status bar says the pre-label run is done. */
  async runDone(): Promise<void> {
    await this.page.waitForFunction(() => /pre-label done/.test(document.querySelector('[data-testid=progress]')!.textContent ?? ''), null, { timeout: RUN_TIMEOUT });
  }
}

export const maskArea = (rle: Rle): number => decode(rle).data.reduce((n, v) => n + v, 0);
export const pixel = (rle: Rle, x: number, y: number): number => decode(rle).data[y * rle.size[1] + x]!;

/** A set pixel of the mask near its centre of mass. */
export function innerPixel(rle: Rle): [number, number] {
  const mask = decode(rle);
  const set: [number, number][] = [];
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) set.push([i % mask.width, Math.floor(i / mask.width)]);
  const cx = set.reduce((s, p) => s + p[0], 0) / set.length;
  const cy = set.reduce((s, p) => s + p[1], 0) / set.length;
  const distance = (p: [number, number]) => (p[0] - cx) ** 2 + (p[1] - cy) ** 2;
  return set.reduce((best, p) => (distance(p) < distance(best) ? p : best));
}
