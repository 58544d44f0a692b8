// Reviewed truth in the app, end to end: real bridge, real models, real SQLite file, real Chromium, and the real
// `loupe` CLI beside it. Each scenario makes the state it needs on images of its own.
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Annotation, ImageRecord } from '../app/model/index.js';
import { modelCard, openApp, ROOT, shot, startSession, type Session } from './harness.js';
import { ReviewPage, RUN_TIMEOUT, UI_TIMEOUT } from './review-page.js';

const LOUPE = path.join(ROOT, 'bin', 'loupe.js');

let session: Session;
let review: ReviewPage;
const page = () => session.page;

beforeAll(async () => {
  // Main's file dialog, answered as a person would: the samples' COCO ground truth to import, a file beside the folder
  // to export to, the model's .onnx and card to import.
  const card = modelCard();
  const answers: Readonly<Record<string, () => string>> = {
    'import-coco': () => path.join(session.folder, 'annotations.json'),
    'export-coco': () => path.join(path.dirname(session.folder), 'saved-as.json'),
    'model-card': () => card,
    'model-onnx': () => card.replace(/\.json$/, '.onnx'),
  };
  session = await startSession('truth', { chooseFile: async (purpose) => answers[purpose]?.() ?? null });
  review = new ReviewPage(session.page);
  await openApp(page(), session.serving.bridge.url);
  await page().waitForFunction(() => document.querySelectorAll('.image-row').length >= 10, null, { timeout: UI_TIMEOUT });
}, 120_000);

afterAll(async () => {
  await session?.close();
});

async function images(): Promise<ImageRecord[]> {
  return (await session.api.invoke('images.list', { limit: 100 })).items;
}

async function annotationsOf(imageId: number): Promise<Annotation[]> {
  return (await session.api.invoke('annotations.list', { imageId })).annotations;
}

/** Pre-labels these images with the installed model named `name`, through the contract, and waits for the run to end. */
async function prelabel(name: string, imageIds: number[]): Promise<{ replaced: number | undefined }> {
  const { models } = await session.api.invoke('models.installed', {});
  const model = models.find((m) => m.name === name && m.id !== null);
  if (!model) throw new Error(`model ${name} is not installed (installed: ${models.map((m) => m.name).join(', ')})`);
  const finished = new Promise<{ replaced: number | undefined }>((resolve) => {
    const listener = session.api.on('prelabel.progress', (progress) => {
      // A run's last event is the one with its summary's count of replaced predictions.
      if ((progress.state === 'done' || progress.state === 'failed' || progress.state === 'cancelled') && progress.replaced !== undefined) {
        listener.dispose();
        resolve({ replaced: progress.replaced });
      }
    });
  });
  await session.api.invoke('prelabel.start', { modelId: model.id!, imageIds, threshold: 0.05 });
  return withTimeout(finished, RUN_TIMEOUT, `the ${name} run on ${imageIds.length} images`);
}

const pendingOf = (list: readonly Annotation[]) => list.filter((a) => a.origin === 'model' && a.state === 'pending');

describe('reviewed truth in the app', () => {
  it('the model picker starts on the project\'s active model', async () => {
    const { active } = await session.api.invoke('models.installed', {});
    expect(active?.name).toBe('loupe-shapes');
    await expect.poll(() => page().locator('[data-testid=model] option:checked').getAttribute('data-card'), { timeout: UI_TIMEOUT }).toBe(active!.cardPath);
  });

  it('imports COCO annotations from the file main\'s dialog chose, and reports what it added', async () => {
    await page().click('[data-testid=import]');
    await page().waitForSelector('[data-testid=import-dialog]', { timeout: UI_TIMEOUT });
    await page().selectOption('[data-testid=import-format]', 'coco');
    await page().click('[data-testid=import-run]');
    await expect.poll(() => page().locator('[data-testid=import-report] .summary').textContent(), { timeout: UI_TIMEOUT })
      .toMatch(/^Added \d+ annotations to 10 images from .*annotations\.json; new classes: /);
    await shot(page(), 'truth-01-imported');
    await page().click('[data-testid=import-close]');
    await expect.poll(() => page().locator('.category').count(), { timeout: UI_TIMEOUT }).toBeGreaterThan(0);
  });

  it('the Export dialog\'s defaults write the file `loupe export --format coco` writes, byte for byte', async () => {
    // Two images reviewed in the app, with what the import gave them.
    for (const name of ['poster.png', 'sand.jpg']) {
      const image = (await images()).find((i) => i.path === name)!;
      await review.openImage(image.id);
      await review.press('Enter');
      await expect.poll(async () => (await session.api.invoke('images.get', { id: image.id })).status, { timeout: UI_TIMEOUT }).toBe('reviewed');
    }
    const report = await review.exportFromDialog(async (shown) => void (await shot(shown, 'truth-02-export-dialog')));
    expect(report).toMatchObject({ format: 'coco', images: 2, leftOut: [], staleLeftOut: [] });
    expect(path.dirname(report.path)).toBe(path.join(session.folder, '.loupe', 'exports'));

    const cliFile = path.join(path.dirname(session.folder), 'cli-export.json');
    const cli = spawnSync(process.execPath, [LOUPE, 'export', session.folder, '--format', 'coco', '--out', cliFile], { encoding: 'utf8', timeout: 120_000 });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const [app, command] = await Promise.all([readFile(report.path), readFile(cliFile)]);
    expect(app.equals(command)).toBe(true);
    // The COCO ids of the imported file are kept: the same ids as in the samples' annotations.json.
    const samples = JSON.parse(await readFile(path.join(session.folder, 'annotations.json'), 'utf8')) as { images: { id: number; file_name: string }[] };
    const exported = JSON.parse(app.toString('utf8')) as { images: { id: number; file_name: string }[] };
    expect(exported.images.map((i) => [i.file_name, i.id])).toEqual(
      exported.images.map((i) => [i.file_name, samples.images.find((s) => s.file_name === i.file_name)!.id]),
    );
  });

  it('Enter on an image with hidden predictions accepts what is shown and rejects the rest; one Ctrl+Z from the next image restores it all', async () => {
    const candidates = (await images()).filter((i) => ['street.jpg', 'garden.jpg', 'tiles.jpg'].includes(i.path));
    await prelabel('loupe-shapes', candidates.map((i) => i.id));
    // The candidate whose predictions have the widest spread of scores: a threshold between them hides some.
    let chosen: { image: ImageRecord; predictions: Annotation[] } | null = null;
    for (const image of candidates) {
      const predictions = pendingOf(await annotationsOf(image.id));
      const spread = (p: Annotation[]) => (p.length < 2 ? -1 : Math.max(...p.map((a) => a.score!)) - Math.min(...p.map((a) => a.score!)));
      if (!chosen || spread(predictions) > spread(chosen.predictions)) chosen = { image, predictions };
    }
    const { image, predictions } = chosen!;
    const scores = predictions.map((a) => a.score!);
    expect(Math.max(...scores)).toBeGreaterThan(Math.min(...scores));
    const threshold = Math.round(((Math.max(...scores) + Math.min(...scores)) / 2) * 100) / 100;
    const shown = predictions.filter((a) => a.score! >= threshold).length;
    const before = new Map((await annotationsOf(image.id)).map((a) => [a.id as string, a.state]));
    const statusBefore = (await session.api.invoke('images.get', { id: image.id })).status;

    await review.openImage(image.id);
    await page().locator('[data-testid=threshold]').fill(String(threshold));
    await review.press('Enter');
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT })
      .toBe(`${image.path} reviewed: accepted ${shown}, rejected ${predictions.length - shown}`);
    const settled = await annotationsOf(image.id);
    expect(pendingOf(settled)).toEqual([]);
    expect(settled.filter((a) => predictions.some((p) => p.id === a.id) && a.state === 'rejected')).toHaveLength(predictions.length - shown);
    const moved = await review.snapshot();
    expect(moved.imageId).not.toBe(image.id);
    await shot(page(), 'truth-03-reviewed');

    await review.press('Control+z');
    await expect.poll(async () => (await review.snapshot()).imageId, { timeout: UI_TIMEOUT }).toBe(image.id);
    await review.whenSaved();
    await expect.poll(async () => (await session.api.invoke('images.get', { id: image.id })).status, { timeout: UI_TIMEOUT }).toBe(statusBefore);
    expect(new Map((await annotationsOf(image.id)).map((a) => [a.id as string, a.state]))).toEqual(before);
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT }).toBe(`Review of ${image.path} undone: it is ${statusBefore} again`);
  });

  it('a second model replaces the first one\'s pending predictions on an image, it does not stack them; the panel names the model', async () => {
    const image = (await images()).find((i) => i.path === 'wall.jpg')!;
    await prelabel('loupe-shapes', [image.id]);
    const first = pendingOf(await annotationsOf(image.id));
    expect(first.length).toBeGreaterThan(0);
    const { replaced } = await prelabel('loupe-shapes-zoo', [image.id]);
    expect(replaced).toBe(first.length);
    const { models } = await session.api.invoke('models.list', {});
    const zoo = models.find((m) => m.name === 'loupe-shapes-zoo')!;
    const after = (await annotationsOf(image.id)).filter((a) => a.origin === 'model');
    // One pending set: the zoo model's alone (as many as it found), none of the first model's left beside them.
    expect(after.every((a) => a.modelId === zoo.id)).toBe(true);
    expect(after.filter((a) => first.some((f) => f.id === a.id))).toEqual([]);
    await expect.poll(() => review.message(), { timeout: UI_TIMEOUT })
      .toBe(`Pre-label done: replaced ${first.length} pending predictions of other models (an image holds one model's pending predictions)`);

    await review.openImage(image.id);
    await page().locator('[data-testid=threshold]').fill('0.05');
    const names = page().locator(`[data-testid=instances] [data-origin=model] [data-testid=model-name]`);
    await expect.poll(() => names.count(), { timeout: UI_TIMEOUT }).toBe(after.length);
    expect(new Set(await names.allTextContents())).toEqual(new Set([zoo.shortName]));
    expect(await names.first().getAttribute('title')).toBe('Predicted by loupe-shapes-zoo');
    await shot(page(), 'truth-04-replaced');

    // The zoo model ran last: it is the project's active model, and the picker starts on it.
    await page().reload();
    await page().waitForSelector('#app[data-ready="true"]', { timeout: UI_TIMEOUT });
    const { active } = await session.api.invoke('models.installed', {});
    expect(active?.name).toBe('loupe-shapes-zoo');
    await expect.poll(() => page().locator('[data-testid=model] option:checked').getAttribute('data-card'), { timeout: UI_TIMEOUT }).toBe(active!.cardPath);
  });

  it('shows a `loupe prelabel` running on the folder in a terminal, and refuses to start a second run', async () => {
    const cli = spawn(process.execPath, [LOUPE, 'prelabel', session.folder, '--model', modelCard(), '--workers', '1', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    let output = '';
    cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let stopped = false;
    try {
      // Held still as soon as it holds the folder (SIGSTOP: alive, so its lock stands), so that a fast machine
      // cannot finish the run before the app's next look.
      await expect.poll(async () => (await session.api.invoke('prelabel.active', {})).run?.pid, { timeout: RUN_TIMEOUT, interval: 20 }).toBe(cli.pid);
      stopped = cli.kill('SIGSTOP');
      await page().waitForFunction(
        (pid) => (document.querySelector('[data-testid=progress]')?.textContent ?? '').includes(`in another process (pid ${pid})`),
        cli.pid, { timeout: UI_TIMEOUT },
      );
      await shot(page(), 'truth-05-other-run');
      const button = page().locator('[data-testid=prelabel]');
      await expect.poll(() => button.isDisabled(), { timeout: UI_TIMEOUT }).toBe(true);
      expect(await button.getAttribute('title')).toMatch(new RegExp(`^A pre-label run is already in progress on this folder \\(pid ${cli.pid}, started \\d\\d:\\d\\d\\)`));
      // The key and the menu go through the session: refused there too, with the reason, and nothing started.
      await page().evaluate(() => window.__loupe!.session.prelabel());
      await expect.poll(() => review.message(), { timeout: UI_TIMEOUT }).toMatch(new RegExp(`^A pre-label run is already in progress on this folder \\(pid ${cli.pid}, `));
      expect((await session.api.invoke('prelabel.active', {})).run).toMatchObject({ pid: cli.pid, ownedHere: false });
    } finally {
      if (stopped) cli.kill('SIGCONT');
      cli.kill('SIGINT');
      await withTimeout(exited, RUN_TIMEOUT, `the CLI run to stop (${output})`);
    }
    // It ended: the app lets go of it, and Pre-label can start again.
    await page().waitForFunction(() => !(document.querySelector('[data-testid=progress]')?.textContent ?? '').includes('in another process'), null, { timeout: UI_TIMEOUT });
    await expect.poll(() => page().locator('[data-testid=prelabel]').isDisabled(), { timeout: UI_TIMEOUT }).toBe(false);
    expect(session.errors).toEqual([]);
  });
});

describe('files chosen in main\'s dialogs, held by the page as handles', () => {
  it('Export, Save as…: writes the COCO file where main\'s save dialog chose, the same bytes as the default export', async () => {
    const first = await review.exportFromDialog();
    const saved = path.join(path.dirname(session.folder), 'saved-as.json');
    const report = await review.exportFromDialog(async (shown) => {
      await shown.click('[data-testid=export-choose-file]');
      await expect.poll(() => shown.locator('[data-testid=export-destination]').textContent(), { timeout: UI_TIMEOUT }).toBe('Writes saved-as.json (the file chosen)');
      await shot(shown, 'truth-06-export-save-as');
    });
    expect(report.path).toBe(saved);
    expect((await readFile(saved)).equals(await readFile(first.path))).toBe(true);
    expect(session.errors).toEqual([]);
  });

  it('File > Import Model…: the .onnx and card come from main\'s dialog; the model is checked, installed and offered in the picker', async () => {
    // As the desktop menu does; the page asks main's dialog for each file.
    session.serving.bridge.emit('app.command', { command: 'import-model' });
    await page().waitForSelector('[data-testid=model-import-dialog]', { timeout: UI_TIMEOUT });
    await page().selectOption('[data-testid=model-import-target]', 'project');
    await page().click('[data-testid=model-import-choose-onnx]');
    await expect.poll(() => page().locator('[data-testid=model-import-onnx]').textContent(), { timeout: UI_TIMEOUT }).toBe('loupe-shapes.onnx');
    await page().click('[data-testid=model-import-choose-card]');
    await expect.poll(() => page().locator('[data-testid=model-import-card]').textContent(), { timeout: UI_TIMEOUT }).toBe('loupe-shapes.json');
    await page().click('[data-testid=model-import-run]');
    await expect.poll(() => page().locator('[data-testid=model-import-report] .summary').textContent(), { timeout: RUN_TIMEOUT })
      .toBe('Imported loupe-shapes (4 classes: circle, rectangle, triangle, star) into this project\'s models');
    await shot(page(), 'truth-07-model-imported');
    await page().click('[data-testid=model-import-close]');
    await expect.poll(() => page().locator('[data-testid=model] option').allTextContents(), { timeout: UI_TIMEOUT })
      .toContain('loupe-shapes (masks, project)');
    const [copied, original] = await Promise.all([path.join(session.folder, '.loupe', 'models', 'loupe-shapes.onnx'), modelCard().replace(/\.json$/, '.onnx')].map((file) => readFile(file)));
    expect(copied!.equals(original!)).toBe(true);
    expect(session.errors).toEqual([]);
  });
});

/** `promise`, or an error naming what was awaited once `ms` have passed. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
