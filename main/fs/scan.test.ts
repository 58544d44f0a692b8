import { mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnnotationId } from '../../app/model/index.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { writeImage } from './images.test-support.js';
import { findImageFiles, listImageFiles } from './imageFiles.js';
import { openImage, probeImage } from './probe.js';
import { scanFolder, type ScanProgress } from './scan.js';
import { diffOf } from '../../app/history/diff.js';

let folder: string;
let store: ProjectStore;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-scan-'));
  store = openProject(folder);
});
afterEach(() => {
  store.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('scanFolder', () => {
  it('reads every format, EXIF orientation, and keeps going past files it cannot decode', async () => {
    await writeImage(folder, 'a.jpg', { width: 40, height: 30 });
    await writeImage(folder, 'b.JPEG', { width: 41, height: 30 });
    await writeImage(folder, 'nested/deep/c.png', { width: 42, height: 30 });
    await writeImage(folder, 'd.webp', { width: 43, height: 30 });
    await writeImage(folder, 'e.tif', { width: 44, height: 30 });
    await writeImage(folder, 'f.TIFF', { width: 45, height: 30 });
    await writeImage(folder, 'g.bmp', { width: 46, height: 30 });
    await writeImage(folder, 'h.gif', { width: 47, height: 30 });
    await writeImage(folder, 'rotated.jpg', { width: 60, height: 20, orientation: 6 });
    writeFileSync(join(folder, 'empty.jpg'), '');
    writeFileSync(join(folder, 'text.png'), 'this is not a png\n');
    const corrupt = await writeImage(folder, 'corrupt.webp');
    const bytes = readFileSync(corrupt);
    bytes.fill(0x42, 0, 16);
    writeFileSync(corrupt, bytes);
    writeFileSync(join(folder, 'notes.txt'), 'not an image');

    const progress: ScanProgress[] = [];
    const summary = await scanFolder(store, { onProgress: (p) => progress.push(p), concurrency: 3 });
    expect(summary).toMatchObject({ files: 12, added: 12, changed: 0, moved: 0, unchanged: 0, missing: 0, errors: 3 });
    expect(summary.unreadable.map((u) => u.path)).toEqual(['corrupt.webp', 'empty.jpg', 'text.png']);
    expect(progress.at(-1)).toEqual({ phase: 'done', done: 12, total: 12 });
    // Probed in batches of 2 (concurrency 3: two batches in flight), progress told after each.
    expect(progress.filter((p) => p.phase === 'probing').map((p) => p.done)).toEqual([0, 2, 4, 6, 8, 10, 12]);

    const byPath = new Map(store.images.list({ limit: 100 }).items.map((i) => [i.path, i]));
    const sizes = ['a.jpg', 'b.JPEG', 'nested/deep/c.png', 'd.webp', 'e.tif', 'f.TIFF', 'g.bmp', 'h.gif'].map((p) => [p, byPath.get(p)?.width, byPath.get(p)?.status]);
    expect(sizes).toEqual([
      ['a.jpg', 40, 'new'], ['b.JPEG', 41, 'new'], ['nested/deep/c.png', 42, 'new'], ['d.webp', 43, 'new'],
      ['e.tif', 44, 'new'], ['f.TIFF', 45, 'new'], ['g.bmp', 46, 'new'], ['h.gif', 47, 'new'],
    ]);
    expect(byPath.get('rotated.jpg')).toMatchObject({ width: 20, height: 60, orientation: 6, status: 'new' });
    for (const bad of ['empty.jpg', 'text.png', 'corrupt.webp']) {
      const image = byPath.get(bad)!;
      expect(image, bad).toMatchObject({ status: 'error', width: 0, height: 0 });
      expect(image.error, bad).toMatch(/\w{4,}/);
    }
    expect(byPath.get('text.png')!.error).toBe('not an image (starts like text/HTML)');
    expect(byPath.get('empty.jpg')!.error).toBe('empty file (0 bytes)');
    expect(byPath.get('a.jpg')!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(store.stats.failedImages().map((f) => f.path)).toEqual(['corrupt.webp', 'empty.jpg', 'text.png']);
  });

  it('finds a file cut short only when asked to verify', async () => {
    const whole = readFileSync(await writeImage(folder, 'cut.jpg', { width: 400, height: 300 }));
    writeFileSync(join(folder, 'cut.jpg'), whole.subarray(0, Math.floor(whole.length / 2)));
    await writeImage(folder, 'fine.png');
    expect(await scanFolder(store)).toMatchObject({ errors: 0 });
    expect(store.images.getByPath('cut.jpg')).toMatchObject({ status: 'new', width: 400 });
    expect(await scanFolder(store, { verify: true })).toMatchObject({ files: 2, changed: 0, unchanged: 2, errors: 1 });
    // A plain rescan reads nothing again, and still reports the image in error.
    expect(await scanFolder(store)).toMatchObject({ errors: 0, unreadable: [{ path: 'cut.jpg', reason: expect.any(String) }] });
    expect(store.images.getByPath('cut.jpg')).toMatchObject({ status: 'error', error: 'cannot decode: the JPEG data is damaged or cut short' });
    expect(store.images.getByPath('fine.png')).toMatchObject({ status: 'new' });
  });

  it('records a file that vanished between listing and probing instead of failing the scan', async () => {
    const gone = { path: 'gone.jpg', absolutePath: join(folder, 'gone.jpg'), size: 10, mtimeMs: 1 };
    expect(await probeImage(gone)).toEqual({
      path: 'gone.jpg', size: 10, mtimeMs: 1, width: 0, height: 0, orientation: 1, hash: '',
      error: expect.stringContaining('ENOENT'),
    });
  });

  it('opens every accepted format for decoding, BMP included', async () => {
    await writeImage(folder, 'x.bmp', { width: 13, height: 7, seed: 5 });
    await writeImage(folder, 'x.png', { width: 13, height: 7, seed: 5 });
    const fromBmp = await (await openImage(join(folder, 'x.bmp'))).raw().toBuffer();
    const fromPng = await (await openImage(join(folder, 'x.png'))).raw().toBuffer();
    expect(fromBmp.equals(fromPng)).toBe(true);
  });

  it('skips hidden folders, .loupe, node_modules and links that leave the folder, listing those links', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'loupe-outside-'));
    try {
      await writeImage(folder, 'kept.png');
      await writeImage(folder, '.hidden/secret.png');
      await writeImage(folder, '.loupe/thumb.png');
      await writeImage(folder, 'node_modules/pkg/icon.png');
      await writeImage(folder, '.dotfile.png');
      await writeImage(outside, 'elsewhere.png');
      symlinkSync(outside, join(folder, 'link-out'));
      symlinkSync(join(outside, 'elsewhere.png'), join(folder, 'file-link-out.png'));
      mkdirSync(join(folder, 'sub'));
      symlinkSync(folder, join(folder, 'sub', 'loop'));
      writeFileSync(join(outside, 'notes.txt'), 'not an image');
      symlinkSync(join(outside, 'notes.txt'), join(folder, 'notes-link.txt'));
      expect((await findImageFiles(folder)).map((f) => f.path)).toEqual(['kept.png']);
      const real = realpathSync(outside);
      // A link to a file no scan would read anyway (notes.txt) is not worth a line.
      expect((await listImageFiles(folder)).linksOutside).toEqual([
        { path: 'file-link-out.png', target: join(real, 'elsewhere.png') },
        { path: 'link-out', target: real },
      ]);
      expect((await scanFolder(store)).linksOutside.map((l) => l.path)).toEqual(['file-link-out.png', 'link-out']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a rescan follows a renamed file by hash and keeps its annotations; a deleted one is marked missing', async () => {
    await writeImage(folder, 'one.png', { seed: 1 });
    await writeImage(folder, 'two.png', { seed: 2 });
    await writeImage(folder, 'three.png', { seed: 3 });
    await scanFolder(store);
    const one = store.images.getByPath('one.png')!;
    const [category] = store.categories.ensure(['circle']);
    const annotation = {
      id: AnnotationId(randomUUID()), imageId: one.id, categoryId: category!.id, bbox: [1, 1, 5, 5] as const,
      mask: null, score: null, origin: 'human' as const, modelId: null, state: 'accepted' as const,
    };
    store.annotations.apply(one.id, diffOf({ added: [annotation] }));
    const two = store.images.getByPath('two.png')!;
    store.annotations.apply(two.id, diffOf({ added: [{ ...annotation, id: AnnotationId(randomUUID()), imageId: two.id }] }));

    mkdirSync(join(folder, 'renamed'));
    renameSync(join(folder, 'one.png'), join(folder, 'renamed', 'uno.png'));
    unlinkSync(join(folder, 'two.png'));
    await writeImage(folder, 'four.png', { seed: 4 });

    const summary = await scanFolder(store);
    expect(summary).toMatchObject({ files: 3, added: 1, moved: 1, unchanged: 1, missing: 1, changed: 0 });
    expect(store.images.get(one.id)).toMatchObject({ path: 'renamed/uno.png', hash: one.hash, status: 'in-review', missing: false });
    expect(store.annotations.forImage(one.id)).toEqual([annotation]);
    expect(store.images.get(two.id)!.missing).toBe(true);
    expect(store.annotations.forImage(two.id)).toHaveLength(1);
    expect(store.images.count()).toBe(4);

    await writeImage(folder, 'two.png', { seed: 2 });
    utimesSync(join(folder, 'two.png'), new Date(), new Date(Date.now() + 5000));
    const third = await scanFolder(store);
    // The same bytes again under a new time: found again, and not a change.
    expect(third).toMatchObject({ moved: 0, added: 0, changed: 0, missing: 0, unchanged: 4 });
    expect(store.images.get(two.id)!.missing).toBe(false);
    expect(store.annotations.forImage(two.id)[0]!.stale).toBeUndefined();
  });

  it('decides "changed" by content: a touch is no change; new content drops pending predictions and marks the rest stale', async () => {
    await writeImage(folder, 'touched.png', { seed: 1 });
    await writeImage(folder, 'same-size.png', { width: 40, height: 30, seed: 2 });
    await writeImage(folder, 'resized.png', { width: 50, height: 60, seed: 3 });
    await scanFolder(store);
    const [category] = store.categories.ensure(['circle']);
    const model = store.models.register({ name: 'm', format: 'torchvision-maskrcnn', labels: ['bg', 'circle'], card: {}, path: '/m.onnx', sha256: 's' });
    const run = store.prelabel.start(model.id);
    const ids = ['touched.png', 'same-size.png', 'resized.png'].map((p) => store.images.getByPath(p)!.id);
    store.prelabel.recordOutcomes(run.id, model.id, ids.map((imageId) => ({
      imageId, durationMs: 1, predictions: [{ categoryId: category!.id, bbox: [1, 1, 2, 2], mask: null, score: 0.9 }, { categoryId: category!.id, bbox: [3, 3, 2, 2], mask: null, score: 0.4 }],
    })));
    const kept = new Map(ids.map((id) => {
      const [accepted] = store.annotations.forImage(id);
      store.annotations.apply(id, diffOf({ updated: [{ before: accepted!, after: { ...accepted!, state: 'accepted' } }] }));
      return [id, store.annotations.get(accepted!.id)!];
    }));
    const [touched, sameSize, resized] = ids as [typeof ids[0], typeof ids[0], typeof ids[0]];
    store.review.markReviewed(resized, { threshold: 0.5 });
    const touchedBefore = store.annotations.forImage(touched);

    utimesSync(join(folder, 'touched.png'), new Date(), new Date(Date.now() + 60_000));
    await writeImage(folder, 'same-size.png', { width: 40, height: 30, seed: 9 });
    await writeImage(folder, 'resized.png', { width: 100, height: 120, seed: 3 });
    const summary = await scanFolder(store);
    expect(summary).toMatchObject({ files: 3, changed: 2, unchanged: 1, unreadable: [] });

    expect(store.annotations.forImage(touched)).toEqual(touchedBefore);
    expect(store.images.get(touched)!.status).toBe('in-review');
    // A touched file's new time is recorded: the next scan reads nothing again.
    expect(await scanFolder(store)).toMatchObject({ unchanged: 3, changed: 0 });

    for (const [id, size] of [[sameSize, { width: 40, height: 30 }], [resized, { width: 50, height: 60 }]] as const) {
      expect(store.images.get(id)!.status).toBe('new');
      const left = store.annotations.forImage(id);
      expect(left.some((a) => a.origin === 'model' && a.state === 'pending')).toBe(false);
      expect(left.filter((a) => a.state !== 'rejected')).toEqual([{ ...kept.get(id)!, stale: size }]);
      expect(store.history.forAnnotation(kept.get(id)!.id).at(-1)).toMatchObject({ action: 'updated', actor: 'system' });
      // Its pre-label result is forgotten, so --only-new does it again.
      expect(store.prelabel.pendingImageIds(model.id)).toContain(id);
    }
    expect(store.images.get(resized)).toMatchObject({ width: 100, height: 120 });
    expect(store.stats.staleImages().map((s) => [s.path, s.annotations, s.madeFor, s.now])).toEqual([
      ['resized.png', 1, { width: 50, height: 60 }, { width: 100, height: 120 }],
      ['same-size.png', 1, { width: 40, height: 30 }, { width: 40, height: 30 }],
    ]);
  });

  it('an unchanged rescan reads no file again', async () => {
    for (let i = 0; i < 5; i++) await writeImage(folder, `img${i}.png`, { seed: i });
    await scanFolder(store);
    const progress: ScanProgress[] = [];
    const again = await scanFolder(store, { onProgress: (p) => progress.push(p) });
    expect(again).toMatchObject({ files: 5, unchanged: 5, added: 0, changed: 0 });
    expect(progress.filter((p) => p.phase === 'probing')).toEqual([{ phase: 'probing', done: 5, total: 5 }]);
  });

  it('writes in batches', async () => {
    for (let i = 0; i < 7; i++) await writeImage(folder, `b${i}.png`, { seed: i });
    const seen: number[] = [];
    const original = store.images.writeFiles.bind(store.images);
    store.images.writeFiles = (writes) => {
      seen.push(writes.length);
      return original(writes);
    };
    await scanFolder(store, { batchSize: 3, concurrency: 2 });
    expect(seen).toEqual([3, 3, 1]);
    expect(store.images.count()).toBe(7);
  });
});
