// export.dataset and import.annotations on a real store and real image files: every format writes the same
// reviewed truth as export.coco, and an import's source comes from main (its dialog), never from the request.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffOf } from '../../app/history/diff.js';
import type { Res } from '../../app/ipc/contract.js';
import { AnnotationId, type Annotation, type ImageRecord } from '../../app/model/index.js';
import { writeImage } from '../fs/images.test-support.js';
import { scanFolder } from '../fs/index.js';
import type { FileChooser, Services } from '../services/index.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { callThrough, dispatcherOver, servicesOver } from '../testing/services.test-support.js';
import type { Dispatch } from './dispatcher.js';

let folder: string;
let store: ProjectStore;
/** What main's dialog answers in these tests; absent as in a browser page. */
let chooser: FileChooser | undefined;
const asked: string[] = [];
/** The services as a browser page has them (no dialog in main), and as the desktop app has them. */
let inBrowser: Services;
let withDialog: Services;
let dispatch: { inBrowser: Dispatch; withDialog: Dispatch };

function call<T = unknown>(channel: string, request: unknown): Promise<T> {
  return callThrough<T>(chooser ? dispatch.withDialog : dispatch.inBrowser, channel, request);
}

const image = (p: string): ImageRecord => store.images.getByPath(p)!;
function box(id: string, on: string, fields: Partial<Annotation> = {}): Annotation {
  const [cat] = store.categories.ensure(['cat']);
  return { id: AnnotationId(id), imageId: image(on).id, categoryId: cat!.id, bbox: [1, 1, 3, 2], mask: null, score: null, origin: 'human', modelId: null, state: 'accepted', ...fields };
}

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-exchange-handlers-'));
  for (const [i, name] of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'].entries()) await writeImage(folder, name, { width: 8, height: 6, seed: i });
  store = openProject(folder);
  await scanFolder(store);
  inBrowser = servicesOver(store);
  withDialog = servicesOver(store, { chooseFile: (purpose, projectFolder) => chooser!(purpose, projectFolder) });
  dispatch = { inBrowser: dispatcherOver(inBrowser), withDialog: dispatcherOver(withDialog) };
  chooser = undefined;
  asked.length = 0;
  // a: reviewed, a person's box. b: a pending prediction (not reviewed). c: reviewed, then its file changed on disk
  // (no rescan yet). d: a person's box made stale by a change of content.
  const model = store.models.register({ name: 'm', format: 'torchvision-maskrcnn', labels: ['bg', 'cat'], card: {}, path: '/m.onnx', sha256: 'm' });
  store.annotations.apply(image('a.jpg').id, diffOf({ added: [box('a1', 'a.jpg')] }));
  store.annotations.apply(image('b.jpg').id, diffOf({ added: [box('b1', 'b.jpg', { origin: 'model', modelId: model.id, score: 0.9, state: 'pending' })] }), 'model');
  store.annotations.apply(image('c.jpg').id, diffOf({ added: [box('c1', 'c.jpg')] }));
  store.annotations.apply(image('d.jpg').id, diffOf({ added: [box('d1', 'd.jpg')] }));
  store.annotations.forgetChangedContent(image('d.jpg').id, { width: 8, height: 6 });
  for (const p of ['a.jpg', 'c.jpg']) store.review.markReviewed(image(p).id, null);
  await writeImage(folder, 'c.jpg', { width: 8, height: 6, seed: 9 });
});

afterEach(async () => {
  await withDialog.close();
  await inBrowser.close();
  await rm(folder, { recursive: true, force: true });
});

describe('export.dataset', () => {
  it('writes the reviewed truth by default into a new folder under .loupe/exports, leaving out what export.coco leaves out', async () => {
    const coco = await call<Res<'export.coco'>>('export.coco', {});
    const yolo = await call<Res<'export.dataset'>>('export.dataset', { format: 'yolo' });
    expect(path.dirname(yolo.path)).toBe(path.join(folder, '.loupe', 'exports'));
    expect(path.basename(yolo.path)).toMatch(/^yolo-\d{4}-/);
    expect(coco).toMatchObject({ images: 1, annotations: 1 });
    expect(yolo).toMatchObject({ format: 'yolo', images: 1, annotations: 1, pendingLeftOut: 0, staleLeftOut: [] });
    expect(yolo.leftOut).toEqual(coco.leftOut);
    expect(yolo.leftOut).toEqual([{ path: 'c.jpg', reason: expect.stringMatching(/changed since the last scan/) }]);
    expect(yolo.notes).toEqual([]);
    // Told to write polygons, it says what it did with a box that has no mask, as the CLI does.
    const segment = await call<Res<'export.dataset'>>('export.dataset', { format: 'yolo', task: 'segment' });
    expect(segment.path).not.toBe(yolo.path);
    expect(segment.notes).toEqual(['1 boxes without a mask were written as 4-corner polygons']);
    expect((await readdir(path.join(yolo.path, 'labels', 'train'))).concat(await readdir(path.join(yolo.path, 'labels', 'val')).catch(() => []))).toEqual(['a.txt']);
  });

  it('every format selects alike over every image: stale annotations and pending predictions left out and counted', async () => {
    const coco = await call<Res<'export.coco'>>('export.coco', { scope: 'all' });
    for (const format of ['yolo', 'voc', 'labelme'] as const) {
      const result = await call<Res<'export.dataset'>>('export.dataset', { format, scope: 'all', images: 'none' });
      expect(result).toMatchObject({ images: coco.images, annotations: coco.annotations, pendingLeftOut: 1, leftOut: coco.leftOut, staleLeftOut: coco.staleLeftOut });
    }
    expect(coco.staleLeftOut).toEqual([{ path: 'd.jpg', annotations: 1 }]);
    const withPending = await call<Res<'export.dataset'>>('export.dataset', { format: 'labelme', scope: 'all', includePending: true });
    expect(withPending).toMatchObject({ annotations: coco.annotations + 1, pendingLeftOut: 0 });
  });

  it('writes LabelMe files beside the images when asked, and says why a refused export wrote nothing', async () => {
    const beside = await call<Res<'export.dataset'>>('export.dataset', { format: 'labelme', besideImages: true });
    expect(beside).toMatchObject({ path: folder, images: 1 });
    expect(JSON.parse(await readFile(path.join(folder, 'a.json'), 'utf8'))).toMatchObject({ imagePath: 'a.jpg', shapes: [{ label: 'cat' }] });
    await writeFile(path.join(folder, 'a.json'), '{"not": "labelme"}');
    await expect(call('export.dataset', { format: 'labelme', besideImages: true })).rejects.toThrow(/^failed: a\.json: exists and is not a LabelMe file/);
    await expect(call('export.dataset', { format: 'yolo', valFraction: 2 })).rejects.toThrow(/^invalid-request/);
  });
});

describe('import.annotations', () => {
  const cocoFile = (annotations: unknown[]) => JSON.stringify({
    images: [{ id: 7, file_name: 'b.jpg', width: 8, height: 6 }],
    categories: [{ id: 3, name: 'dog' }],
    annotations,
  });

  it('is not available without a dialog in main (a browser page), and names no path in the request', async () => {
    await expect(call('import.annotations', { format: 'coco' })).rejects.toThrow(/^conflict: not available in the browser: importing annotations needs the desktop app's file dialog; run `loupe import <folder> --format coco <file>`$/);
    await expect(call('import.annotations', { format: 'coco', path: '/etc/passwd' })).rejects.toThrow(/not available in the browser/);
    await expect(call('import.annotations', { format: 'pascal' })).rejects.toThrow(/^invalid-request/);
  });

  it('imports what main\'s dialog chose, says what it added and skipped; a cancelled dialog imports nothing', async () => {
    const file = path.join(folder, 'in.json');
    await writeFile(file, cocoFile([{ id: 1, image_id: 7, category_id: 3, bbox: [1, 1, 2, 2], area: 4, iscrowd: 0 }]));
    let answer: string | null = null;
    chooser = async (purpose) => (asked.push(purpose), answer);
    expect(await call('import.annotations', { format: 'coco' })).toEqual({
      source: null, imported: 0, images: 0, newCategories: [], alreadyPresent: 0, notes: [], problems: [],
    });
    answer = file;
    expect(await call('import.annotations', { format: 'coco' })).toEqual({
      source: file, imported: 1, images: 1, newCategories: ['dog'], alreadyPresent: 0, notes: [], problems: [],
    });
    expect(await call('import.annotations', { format: 'coco' })).toMatchObject({ imported: 0, alreadyPresent: 1 });
    expect(asked).toEqual(['import-coco', 'import-coco', 'import-coco']);
    expect(store.annotations.forImage(image('b.jpg').id).filter((a) => a.origin === 'human')).toHaveLength(1);
  });

  it('lists every problem of a refused input, and writes nothing', async () => {
    const file = path.join(folder, 'bad.json');
    await writeFile(file, cocoFile([
      { id: 1, image_id: 7, category_id: 99, bbox: [1, 1, 2, 2], area: 4, iscrowd: 0 },
      { id: 2, image_id: 7, category_id: 3, bbox: [100, 100, 2, 2], area: 4, iscrowd: 0 },
    ]));
    chooser = async () => file;
    const result = await call<Res<'import.annotations'>>('import.annotations', { format: 'coco' });
    expect(result).toMatchObject({ source: file, imported: 0 });
    expect(result.problems.length).toBeGreaterThanOrEqual(2);
    expect(result.problems.join('\n')).toMatch(/99/);
    chooser = async () => path.join(folder, 'nowhere');
    expect((await call<Res<'import.annotations'>>('import.annotations', { format: 'labelme' })).problems).toEqual([`${path.join(folder, 'nowhere')}: no such file or folder`]);
    expect(store.annotations.forImage(image('b.jpg').id).filter((a) => a.origin === 'human')).toHaveLength(0);
  });
});
