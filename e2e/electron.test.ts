// The desktop app itself: real Electron launched by playwright-core's _electron, opening a copy of
// the sample folder, pre-labelling it in the utilityProcess worker, cancelling and resuming a run,
// and exporting COCO, as the bridge e2e does in Chromium. Where no Electron binary is installed
// (these machines cannot download it) the suite reports itself skipped with the reason.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../app/ipc/contract.js';
import { modelCard, ROOT } from './harness.js';

const SKIP_REASON = 'Electron binary not present (cannot be downloaded on this machine)';

/** The path `require('electron')` gives, when that file exists; its index.js throws when the binary was never downloaded. */
function electronBinary(): string | null {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();

if (binary === null) {
  describe('desktop app in Electron', () => {
    it.skip(`SKIPPED: ${SKIP_REASON}`, () => {});
  });
  console.warn(`e2e/electron.test.ts: SKIPPED: ${SKIP_REASON}`);
} else {
  describe('desktop app in Electron', () => {
    let work: string;
    let folder: string;
    let app: ElectronApplication;
    let page: Page;
    const errors: string[] = [];
    const invoke = <T>(channel: string, request: unknown) =>
      page.evaluate(([c, r]) => (window as unknown as { loupe: Api }).loupe.invoke(c as never, r as never), [channel, request] as const) as Promise<T>;

    beforeAll(async () => {
      for (const script of ['build', 'build:renderer', 'build:electron']) execFileSync('npm', ['run', script], { cwd: ROOT, stdio: 'inherit' });
      work = await mkdtemp(path.join(tmpdir(), 'loupe-electron-e2e-'));
      folder = path.join(work, 'samples');
      await cp(path.join(ROOT, 'resources', 'samples'), folder, { recursive: true, filter: (src) => !src.includes(`${path.sep}.loupe`) });
      app = await _electron.launch({
        executablePath: binary,
        args: [ROOT, `--model-dir=${path.dirname(modelCard())}`, folder],
        env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
      });
      page = await app.firstWindow();
      page.on('pageerror', (error) => errors.push(error.message));
      await page.waitForSelector('#app[data-ready="true"]', { timeout: 30_000 });
    }, 180_000);

    afterAll(async () => {
      await app?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('runs the page on app:// without Node, with only the contract Api exposed', async () => {
      expect(page.url()).toBe('app://loupe/index.html');
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
      expect(await page.evaluate(() => [typeof (globalThis as { require?: unknown }).require, typeof (globalThis as { process?: unknown }).process])).toEqual(['undefined', 'undefined']);
      expect(await page.evaluate(() => Object.keys((window as unknown as { loupe: object }).loupe).sort())).toEqual(['imageUrl', 'invoke', 'on', 'thumbnailUrl']);
      expect(await page.evaluate(() => window.open('https://example.org/'))).toBeNull();
    });

    it('refuses malformed and oversized requests without harming main', async () => {
      await expect(invoke('categories.create', { name: 5 })).rejects.toThrow(/invalid-request|expected string/);
      await expect(invoke('categories.create', { name: 'x'.repeat(17 * 1024 * 1024) })).rejects.toThrow(/exceeds/);
      await expect(invoke('project.summary', {})).resolves.toMatchObject({ total: expect.any(Number) });
    });

    it('opens the folder given on the command line and shows thumbnails through loupe-image://', async () => {
      await expect.poll(() => page.locator('.image-row').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
      await expect
        .poll(() => page.locator('.image-row img').evaluateAll((imgs) => imgs.filter((img) => (img as HTMLImageElement).naturalWidth > 0).length), { timeout: 20_000 })
        .toBeGreaterThanOrEqual(5);
      const sources = await page.locator('.image-row img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).src));
      expect(sources.every((src) => src.startsWith('loupe-image://thumbs/'))).toBe(true);
      expect((await page.evaluate(() => fetch('loupe-image://files/..%2f..%2fetc%2fpasswd').then((r) => r.status)))).toBe(403);
    });

    it('pre-labels in the utility process, cancels, then resumes with only what is left', async () => {
      type Progress = { runId: number; total: number };
      const started = await invoke<Progress>('prelabel.start', { threshold: 0.05 });
      expect(started.total).toBeGreaterThan(0);
      // The cancelled run ends after the images in flight (until then a new start is refused as a conflict): wait for its last event.
      const ended = page.evaluate((runId) => new Promise<string>((resolve) => {
        const listening = window.loupe!.on('prelabel.progress', (progress) => {
          if (progress.runId !== runId || progress.state === 'running' || progress.state === 'paused') return;
          listening.dispose();
          resolve(progress.state);
        });
      }), started.runId);
      await invoke('prelabel.cancel', { runId: started.runId });
      expect(await withTimeout(ended, 60_000, 'the cancelled run to end')).toMatch(/^(cancelled|done)$/);
      const resumed = await invoke<Progress>('prelabel.start', { threshold: 0.05 });
      expect(resumed.total).toBeLessThanOrEqual(started.total);
      await expect
        .poll(
          async () => {
            const summary = await invoke<{ total: number; byStatus: Record<string, number> }>('project.summary', {});
            return summary.total - (summary.byStatus.predicted ?? 0) - (summary.byStatus.error ?? 0);
          },
          { timeout: 180_000, interval: 500 },
        )
        .toBe(0);
    });

    it('exports COCO to a file', async () => {
      // The Export dialog, every image (nothing is reviewed here).
      await page.click('[data-testid=export]');
      await page.selectOption('[data-testid=export-scope]', 'all');
      await page.click('[data-testid=export-run]');
      await expect.poll(() => page.locator('[data-testid=message]').textContent(), { timeout: 20_000 }).toMatch(/Exported \d+ images/);
      const file = (await page.locator('[data-testid=message]').textContent())!.replace(/^.* to /, '');
      const coco = JSON.parse(await readFile(file, 'utf8')) as { images: unknown[]; annotations: unknown[] };
      expect(coco.images.length).toBeGreaterThanOrEqual(10);
      expect(errors).toEqual([]);
    });
  });
}

/** `promise`, or an error naming what was awaited once `ms` have passed. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
