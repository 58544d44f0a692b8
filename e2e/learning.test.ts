// The learning loop in the app, end to end: real bridge, real model, real training (tools/model, a few iterations),
// real SQLite file, real Chromium. The sample folder's ground truth is its reviewed truth; each scenario then finds
// or makes what it needs, so one failure stays one failure.
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LearningJob, ModelVersionRow } from '../app/ipc/contract.js';
import { AnnotationId, type Annotation } from '../app/model/index.js';
import { importCocoFile } from '../main/fs/cocoFiles.js';
import { openApp, shot, startSession, type Session } from './harness.js';
import { innerPixel, ReviewPage, UI_TIMEOUT } from './review-page.js';

/** A training run of a few iterations, its export (three graphs checked in onnxruntime-node) and scoring, on a loaded machine. */
const TRAIN_TIMEOUT = 900_000;
/** Running a model on the sample images. */
const JOB_TIMEOUT = 300_000;

let session: Session;
let review: ReviewPage;
const page = () => session.page;

beforeAll(async () => {
  session = await startSession('learning');
  review = new ReviewPage(session.page);
  // The samples' ground truth, reviewed: what a person would have settled in the app.
  const store = session.serving.services.project.current()!;
  await importCocoFile(store, path.join(session.folder, 'annotations.json'));
  for (const image of store.images.list({ limit: 100 }).items) store.review.markReviewed(image.id, null);
  await openApp(page(), session.serving.bridge.url);
  await page().waitForFunction(() => document.querySelectorAll('.image-row').length >= 10, null, { timeout: UI_TIMEOUT });
}, 120_000);

afterAll(async () => {
  await session?.close();
});

// Each scenario starts on the review screen, whatever the one before it left open.
beforeEach(async () => {
  await page().evaluate(() => window.__loupe!.session.learning.setTableOpen(false));
  await page().waitForSelector('[data-testid=models-panel]', { state: 'detached', timeout: UI_TIMEOUT });
});

const models = async (): Promise<ModelVersionRow[]> => (await session.api.invoke('learning.models', {})).models;
const job = (): Promise<LearningJob | null> => page().evaluate(() => window.__loupe!.session.learning.job);

async function openModels(): Promise<void> {
  await page().click('[data-testid=models]');
  await page().waitForSelector('[data-testid=models-panel]', { timeout: UI_TIMEOUT });
}

async function closeModels(): Promise<void> {
  await page().click('[data-testid=models-close]');
  await page().waitForSelector('[data-testid=models-panel]', { state: 'detached', timeout: UI_TIMEOUT });
}

/** Starts a learning job and waits until the page shows it ended (a job other than the one shown before); returns it. */
async function runJob(start: () => Promise<unknown>, timeout: number): Promise<LearningJob> {
  const before = JSON.stringify(await job());
  await start();
  await page().waitForFunction((previous) => {
    const current = window.__loupe!.session.learning.job;
    const ended = current?.state === 'completed' || current?.state === 'failed' || current?.state === 'interrupted';
    return ended && JSON.stringify(current) !== previous;
  }, before, { timeout });
  return (await job())!;
}

/** A trained version beside the shipped model: the one a training scenario made, else one trained here through the contract. */
async function trainedVersion(): Promise<ModelVersionRow> {
  const existing = (await models()).find((m) => m.version > 1);
  if (existing) return existing;
  expect(await runJob(() => session.api.invoke('learning.train', { iterations: 2 }), TRAIN_TIMEOUT)).toMatchObject({ state: 'completed' });
  return (await models()).find((m) => m.version > 1)!;
}

describe('the learning loop in the app', () => {
  it('trains a new version from the Models panel, following it in the status bar', { timeout: TRAIN_TIMEOUT + 60_000 }, async () => {
    await openModels();
    await shot(page(), 'learning-01-models');
    await page().fill('[data-testid=train-iterations]', '4');
    const ended = await runJob(async () => {
      await page().click('[data-testid=train]');
      // The status bar follows the run: iteration, loss, speed and time left, with a Stop button.
      await page().waitForFunction(() => /training loupe-shapes-v\d+ · iteration \d+\/4/.test(document.querySelector('[data-testid=learning-status]')!.textContent ?? ''), null, { timeout: TRAIN_TIMEOUT });
      expect(await page().locator('[data-testid="learning.cancel"]').isVisible()).toBe(true);
      await shot(page(), 'learning-02-training');
      // One learning job at a time: the panel's buttons wait for it.
      expect(await page().locator('[data-testid=train]').isDisabled()).toBe(true);
    }, TRAIN_TIMEOUT);
    expect(ended, ended.message).toMatchObject({ kind: 'train', state: 'completed' });
    expect(ended.message).toMatch(/^loupe-shapes-v\d+ (is now|stays)|^loupe-shapes (stays)/);
    expect(await review.message()).toBe(ended.message);
    expect(await page().locator('[data-testid=learning-status]').textContent()).toMatch(/^train loupe-shapes-v\d+: completed$/);
    // The new version is in the table with its held-out figures, and in the toolbar's model picker.
    const row = page().locator('tr', { hasText: ended.name });
    await row.waitFor({ timeout: UI_TIMEOUT });
    expect(await row.locator('[data-field=maskAP]').textContent()).toMatch(/^\d\.\d{3}$/);
    await expect.poll(() => page().locator('[data-testid=model] option').allTextContents(), { timeout: UI_TIMEOUT })
      .toContain(`${ended.name} (masks, project)`);
    await shot(page(), 'learning-03-trained');
    await closeModels();
  });

  it('the model table: sets a version active and applies its suggested threshold', { timeout: TRAIN_TIMEOUT + 60_000 }, async () => {
    const version = await trainedVersion();
    await openModels();
    const shipped = (await models()).find((m) => m.name === 'loupe-shapes')!;
    // Scored on the held-out images, where it was not yet.
    if (!shipped.evaluation) {
      const evaluated = await runJob(() => page().locator(`tr[data-model-id="${shipped.modelId}"] [data-testid=evaluate-one]`).click(), JOB_TIMEOUT);
      expect(evaluated).toMatchObject({ kind: 'evaluate', state: 'completed' });
    }
    const row = (id: number) => page().locator(`tr[data-model-id="${id}"]`);
    await expect.poll(() => row(shipped.modelId).locator('[data-field=maskAP]').textContent(), { timeout: UI_TIMEOUT }).toMatch(/^\d\.\d{3}$/);

    const inactive = [version, shipped].find((m) => !m.active) ?? version;
    if (inactive.active) await row(shipped.modelId).locator('[data-testid=activate]').click();
    await row(inactive.modelId).locator('[data-testid=activate]').click();
    await row(inactive.modelId).locator('[data-testid=active-badge]').waitFor({ timeout: UI_TIMEOUT });
    expect(await page().locator('[data-testid=active-badge]').count()).toBe(1);
    expect((await session.api.invoke('models.installed', {})).active).toMatchObject({ modelId: inactive.modelId });

    const suggested = (await models()).find((m) => m.modelId === inactive.modelId)!.evaluation!.suggested.score!;
    await row(inactive.modelId).locator('[data-testid=apply-threshold]').click();
    // The slider moves in steps of 0.01; the setting and the figure beside the slider are exact.
    await expect.poll(() => page().evaluate(() => window.__loupe!.session.settings.threshold), { timeout: UI_TIMEOUT }).toBe(suggested);
    await expect.poll(() => page().locator('label.range', { has: page().locator('[data-testid=threshold]') }).locator('output').textContent(), { timeout: UI_TIMEOUT })
      .toBe(String(suggested));
    expect(await review.message()).toContain(`Threshold ${suggested}`);
    await shot(page(), 'learning-04-table');
    await closeModels();
  });

  it('compare with reviewed: the list filters the disagreements, the canvas draws them, T takes an extra', { timeout: JOB_TIMEOUT * 2 }, async () => {
    // A disagreement made on purpose on an image where the shipped model finds every reviewed instance: one of them
    // removed (the model will find it: an extra), one box drawn where nothing is (the model cannot find it: missed).
    const { items } = await session.api.invoke('images.list', { limit: 100, filter: { status: 'reviewed' } });
    const target = items.find((i) => i.path === 'street.jpg')!;
    const before = (await session.api.invoke('annotations.list', { imageId: target.id })).annotations;
    const removed = before.find((a) => a.mask !== null && !a.crowd)!;
    const phantom: Annotation = {
      id: AnnotationId('phantom-e2e'), imageId: target.id, categoryId: removed.categoryId, bbox: [2, 2, 6, 6], mask: null, score: null,
      origin: 'human', modelId: null, state: 'accepted',
    };
    await session.api.invoke('annotations.apply', { imageId: target.id, changes: { added: [phantom], updated: [], removed: [removed] } });

    // The shipped model, whose threshold is set to keep its confident predictions only.
    await openModels();
    const shipped = (await models()).find((m) => m.name === 'loupe-shapes')!;
    const compared = await runJob(() => page().locator(`tr[data-model-id="${shipped.modelId}"] [data-testid=compare-one]`).click(), JOB_TIMEOUT);
    expect(compared, compared.message).toMatchObject({ kind: 'compare', state: 'completed', name: 'loupe-shapes' });
    expect(compared.message).toMatch(/^loupe-shapes on 10 reviewed images: \d+ missed, \d+ extra, \d+ low-overlap; \d+ images disagree$/);
    await closeModels();

    await page().check('[data-testid=filter-disagreements]');
    const expected = (await session.api.invoke('images.list', { limit: 100, filter: { disagreements: true } })).items.map((i) => i.id);
    expect(expected).toContain(target.id);
    await expect.poll(() => page().locator('.image-row').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.imageId))), { timeout: UI_TIMEOUT })
      .toEqual(expected);

    await review.openImage(target.id);
    await expect.poll(() => page().evaluate(() => window.__loupe!.canvas.comparison.drawn), { timeout: UI_TIMEOUT })
      .toMatchObject({ missed: 1, extras: expect.any(Number) });
    const extras = await page().evaluate(() => window.__loupe!.session.learning.extras.map((p) => ({ id: p.id, mask: p.mask, bbox: p.bbox })));
    const extra = extras.find((p) => p.mask && Math.abs(p.bbox[0] - removed.bbox[0]) < 8 && Math.abs(p.bbox[1] - removed.bbox[1]) < 8)!;
    expect(extra, `an extra where ${JSON.stringify(removed.bbox)} was: ${JSON.stringify(extras.map((e) => e.bbox))}`).toBeDefined();
    await shot(page(), 'learning-05-compare');

    // T over the extra takes it as an annotation: the model's, accepted by a person.
    const [x, y] = innerPixel(extra.mask!);
    const at = await review.toPage(x + 0.5, y + 0.5);
    await page().mouse.move(at.x, at.y);
    await expect.poll(() => page().evaluate(() => window.__loupe!.session.learning.hoveredExtra), { timeout: UI_TIMEOUT }).toBe(extra.id);
    await review.press('t');
    await review.whenSaved();
    await expect.poll(async () => (await session.api.invoke('annotations.list', { imageId: target.id })).annotations.filter((a) => a.origin === 'model' && a.state === 'accepted' && a.bbox.join() === extra.bbox.join()).length, { timeout: UI_TIMEOUT }).toBe(1);
    await expect.poll(() => page().evaluate(() => window.__loupe!.canvas.comparison.drawn.extras), { timeout: UI_TIMEOUT }).toBe(extras.length - 1);

    // The phantom box removed too: the image agrees with the model again and leaves the filtered list.
    await review.selectRow('phantom-e2e');
    await review.press('Delete');
    await review.whenSaved();
    await expect.poll(() => page().evaluate(() => window.__loupe!.canvas.comparison.drawn.missed), { timeout: UI_TIMEOUT }).toBe(0);
    if (extras.length === 1) {
      await page().uncheck('[data-testid=filter-disagreements]');
      await page().check('[data-testid=filter-disagreements]');
      await expect.poll(() => page().locator(`.image-row[data-image-id="${target.id}"]`).count(), { timeout: UI_TIMEOUT }).toBe(0);
    }
    expect(session.errors).toEqual([]);
  });
});
