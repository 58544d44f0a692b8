// Reviewed truth end to end, as a user meets it: real scenes pre-labeled by the shipped model in a real `loupe`
// process, decisions made with `loupe review` and through the store, files replaced and touched, and the COCO that
// `loupe export` (and the app's export.coco, with its defaults) writes of it.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Reply, Res } from '../../app/ipc/contract.js';
import type { Annotation } from '../../app/model/index.js';
import { writeImage } from '../fs/images.test-support.js';
import { modelCards, randomScene, seededRandom, writeScene } from '../inference/testing.js';
import { dispatcherOver, servicesOver } from '../testing/services.test-support.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { databaseDigest } from '../testing/database.test-support.js';
import { COCOAPI_FIXTURE, hasCocoapiFixture, readCocoapiCases } from '../testing/cocoapi-fixture.test-support.js';
import { runLoupe } from './cli.test-support.js';
import { diffOf } from '../../app/history/diff.js';

const SCENES = ['s0.png', 's1.png', 's2.png', 's3.png', 's4.png', 's5.png'];
let template: string;
let work: string;
let folder: string;

beforeAll(async () => {
  template = mkdtempSync(join(tmpdir(), 'loupe-truth-template-'));
  const random = seededRandom(21);
  for (const name of SCENES) await writeScene(join(template, name), randomScene(random, 256, 192, 5));
  const run = runLoupe(['prelabel', template, '--model', modelCards().maskrcnn, '--threshold', '0.05', '--workers', '1']);
  expect(run.status, run.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(template, { recursive: true, force: true }));

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'loupe-truth-'));
  folder = join(work, 'images');
  cpSync(template, folder, { recursive: true });
  return () => rmSync(work, { recursive: true, force: true });
});

function withStore<T>(use: (store: ProjectStore) => T): T {
  const store = openProject(folder);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

const idOf = (store: ProjectStore, path: string) => store.images.getByPath(path)!.id;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('loupe review', () => {
  it('accepts above and rejects below a score on the images --only matches, with the editor\'s history entries', () => {
    const before = withStore((store) => new Map(SCENES.map((p) => [p, store.annotations.forImage(idOf(store, p))])));
    const pendingScores = ['s0.png', 's1.png'].flatMap((p) => before.get(p)!.map((a) => a.score!)).sort((a, b) => a - b);
    // Thresholds from the scores themselves: the highest is accepted, the lowest rejected, those between left alone.
    expect(pendingScores.length).toBeGreaterThanOrEqual(3);
    const high = Math.floor(pendingScores.at(-1)! * 100) / 100;
    const low = (Math.floor(pendingScores[0]! * 100) + 1) / 100;
    expect(low).toBeLessThan(high);

    const run = runLoupe(['review', folder, '--only', 's[01].png', '--accept-above', String(high), '--reject-below', String(low), '--json']);
    expect(run.status, run.stderr).toBe(0);
    const totals = JSON.parse(run.stdout);
    expect(totals).toEqual({
      images: 2, touched: 2, markedReviewed: 0, staleKept: 0, staleDropped: 0, skipped: { missing: 0, unreadable: 0 },
      accepted: pendingScores.filter((s) => s >= high).length,
      rejected: pendingScores.filter((s) => s < low).length,
    });
    withStore((store) => {
      for (const path of SCENES) {
        const now = store.annotations.forImage(idOf(store, path));
        if (path !== 's0.png' && path !== 's1.png') {
          expect(now, path).toEqual(before.get(path));
          continue;
        }
        for (const a of now) {
          const state = a.score! >= high ? 'accepted' : a.score! < low ? 'rejected' : 'pending';
          expect(a.state).toBe(state);
          const last = store.history.forAnnotation(a.id).at(-1)!;
          expect([last.action, last.actor]).toEqual(state === 'pending' ? ['created', 'model'] : [state, 'human']);
        }
        expect(store.images.getByPath(path)!.status).toBe('in-review');
      }
    });
  });

  it('marks images reviewed as the app\'s Enter does, printing what it did', () => {
    const scores = withStore((store) => store.annotations.forImage(idOf(store, 's2.png')).map((a) => a.score!));
    const run = runLoupe(['review', folder, '--only', '**/s2.png', '--accept-above', '0.5', '--mark-reviewed']);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const accepted = scores.filter((s) => s >= 0.5).length;
    expect(run.stdout).toBe(`${folder}: 1 of 1 images touched: ${accepted} accepted, ${scores.length - accepted} rejected, 1 marked reviewed\n`);
    withStore((store) => {
      expect(store.images.getByPath('s2.png')!.status).toBe('reviewed');
      expect(store.annotations.forImage(idOf(store, 's2.png')).filter((a) => a.state === 'pending')).toEqual([]);
    });
    // Marking it again changes nothing.
    expect(runLoupe(['review', folder, '--only', 's2.png', '--mark-reviewed']).stdout).toBe(`${folder}: 0 of 1 images touched: 0 accepted, 0 rejected, 0 marked reviewed\n`);
  });

  it('refuses a review with no decision or with decisions that contradict each other', () => {
    const hash = databaseDigest(join(folder, '.loupe', 'project.db'));
    expect(runLoupe(['review', folder])).toMatchObject({ status: 1, stderr: expect.stringContaining('review needs a decision') });
    expect(runLoupe(['review', folder, '--accept-above', '0.2', '--reject-below', '0.6'])).toMatchObject({
      status: 1, stderr: expect.stringContaining('accept above 0.2 and reject below 0.6 overlap'),
    });
    expect(runLoupe(['review', folder, '--accept-all', '--reject-pending'])).toMatchObject({ status: 1, stderr: expect.stringContaining('cannot be combined') });
    expect(runLoupe(['review', folder, '--accept-above', '2'])).toMatchObject({ status: 1, stderr: expect.stringContaining('--accept-above must be a number from 0 to 1') });
    expect(databaseDigest(join(folder, '.loupe', 'project.db'))).toBe(hash);
  });
});

describe('the export of a project with pending, hidden, stale and replaced images', () => {
  it('holds exactly the reviewed truth, names the image it left out, and the app writes the same bytes', async () => {
    expect(runLoupe(['review', folder, '--only', 's0.png', '--accept-above', '0.5', '--mark-reviewed']).status).toBe(0);
    withStore((store) => {
      // s1: a person edits a prediction, draws one, and marks it reviewed with a class hidden.
      const s1 = idOf(store, 's1.png');
      const [first, second] = store.annotations.forImage(s1);
      const drawn: Annotation = { ...first!, id: 'drawn-on-s1' as Annotation['id'], origin: 'human', modelId: null, score: null, state: 'accepted' };
      store.annotations.apply(s1, diffOf({ added: [drawn], updated: [{ before: second!, after: { ...second!, bbox: [1, 1, 5, 5] } }] }));
      store.review.markReviewed(s1, { threshold: 0.4, hiddenCategoryIds: [first!.categoryId] });
      for (const path of ['s3.png', 's4.png', 's5.png']) store.review.markReviewed(idOf(store, path), { threshold: 0.5 });
    });
    // s2 stays pending. s3 is replaced by another size and rescanned (its annotations turn stale); s4 is replaced
    // without a rescan; s5 is only touched.
    await writeImage(folder, 's3.png', { width: 300, height: 200, seed: 3 });
    expect(runLoupe(['scan', folder]).stdout).toContain('(0 new, 1 changed, 0 moved, 5 unchanged, 0 missing, 0 unreadable)');
    await writeImage(folder, 's4.png', { width: 100, height: 80, seed: 4 });
    utimesSync(join(folder, 's5.png'), new Date(), new Date(Date.now() + 90_000));

    const expected = withStore((store) =>
      ['s0.png', 's1.png', 's5.png'].flatMap((path) =>
        store.annotations
          .forImage(idOf(store, path))
          .filter((a) => a.state === 'accepted' || (a.origin !== 'model' && a.state !== 'rejected'))
          .map((a) => `${path} ${a.categoryId} ${a.mask!.counts}`),
      ),
    );
    expect(expected.length).toBeGreaterThan(3);

    const out = join(work, 'truth.json');
    const run = runLoupe(['export', folder, '--format', 'coco', '--out', out]);
    expect(run.status).toBe(3);
    expect(run.stdout).toBe(`${out}: 3 reviewed images, ${expected.length} annotations\n`);
    expect(run.stderr).toBe(
      `loupe: ${folder}: warning: 1 images left out of the export:\n` +
        `  s4.png: the file changed since the last scan; run \`loupe scan\` and review it again\n`,
    );
    const coco = readJson(out);
    const fileOf = new Map<number, string>(coco.images.map((i: { id: number; file_name: string }) => [i.id, i.file_name]));
    expect([...fileOf.values()]).toEqual(['s0.png', 's1.png', 's5.png']);
    const written = coco.annotations.map((a: { image_id: number; category_id: number; segmentation: { counts: string } }) =>
      `${fileOf.get(a.image_id)} ${a.category_id} ${a.segmentation.counts}`);
    expect(written.sort()).toEqual([...expected].sort());
    expect(coco.annotations.every((a: object) => !('score' in a))).toBe(true);

    // The app's export.coco with its defaults writes the very same file.
    const services = servicesOver(openProject(folder));
    try {
      const dispatch = dispatcherOver(services);
      const fromApp = join(work, 'from-app.json');
      const reply = (await dispatch('export.coco', { file: services.files.grant('export-coco', fromApp).handle })) as Reply<Res<'export.coco'>>;
      expect(reply.ok && reply.value).toMatchObject({ images: 3, leftOut: [{ path: 's4.png' }], staleLeftOut: [] });
      expect(readFileSync(fromApp).equals(readFileSync(out))).toBe(true);
    } finally {
      await services.close();
    }

    // Every image: s3's stale annotations are left out with a warning, s2's pending ones only on request.
    const all = join(work, 'all.json');
    const everything = runLoupe(['export', folder, '--format', 'coco', '--all', '--include-pending', '--out', all]);
    expect(everything.status).toBe(3);
    const s2Pending = withStore((store) => store.annotations.forImage(idOf(store, 's2.png')).length);
    expect(everything.stdout).toBe(`${all}: 5 images, ${expected.length + s2Pending} annotations\n  including ${s2Pending} pending predictions (--include-pending)\n`);
    const staleCount = withStore((store) => store.stats.staleImages()[0]!.annotations);
    expect(everything.stderr).toContain(`warning: ${staleCount} stale annotations left out (their file changed since; review the image again):\n  s3.png: ${staleCount}\n`);
    expect(runLoupe(['stats', folder]).stdout).toContain(`stale: 1 images, ${staleCount} annotations`);
  });
});

describe('loupe import refuses bad input and writes nothing', () => {
  const dbPath = () => join(folder, '.loupe', 'project.db');
  const cocoFile = (value: unknown) => {
    const path = join(work, 'in.json');
    writeFileSync(path, typeof value === 'string' || value instanceof Buffer ? value : JSON.stringify(value));
    return path;
  };
  const sceneImage = { id: 1, file_name: 's0.png', width: 256, height: 192 };

  it('names the byte offset of input that is not UTF-8', () => {
    const hash = databaseDigest(dbPath());
    const text = Buffer.from(JSON.stringify({ images: [sceneImage], categories: [{ id: 1, name: 'thXing' }], annotations: [] }));
    const bad = text.indexOf('X');
    text[bad] = 0xe9;
    const path = cocoFile(text);
    expect(runLoupe(['import', folder, '--coco', path])).toEqual({
      status: 2, stdout: '', stderr: `loupe: ${path}: not valid UTF-8: byte ${bad} (0xe9); save the file as UTF-8\n`,
    });
    expect(databaseDigest(dbPath())).toBe(hash);
  });

  it('lists every problem, up to 20 and then a count', () => {
    const hash = databaseDigest(dbPath());
    const annotations = Array.from({ length: 24 }, (_, i) => ({ id: i + 1, image_id: 1, category_id: 99, bbox: [1, 1, 2, 2] }));
    annotations.push({ id: 25, image_id: 1, category_id: 1, bbox: [300, 10, 5, 5] });
    const path = cocoFile({ images: [sceneImage], categories: [{ id: 1, name: 'x' }], annotations });
    const run = runLoupe(['import', folder, '--coco', path]);
    expect(run.status).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`loupe: ${path}: 25 problems, nothing was imported`);
    expect(lines.slice(1, 21)).toEqual(Array.from({ length: 20 }, (_, i) => `  annotations[${i}].category_id: 99 does not exist`));
    expect(lines.slice(21)).toEqual(['  ... and 5 more']);
    expect(databaseDigest(dbPath())).toBe(hash);
    const outside = runLoupe(['import', folder, '--coco', cocoFile({ images: [sceneImage], categories: [{ id: 1, name: 'x' }], annotations: annotations.slice(24) })]);
    expect(outside.stderr).toBe(`loupe: ${join(work, 'in.json')}: annotations[0].bbox: [300, 10, 5, 5] lies wholly outside image 1 (width 256 x height 192)\n`);
    expect(databaseDigest(dbPath())).toBe(hash);
  });

  it('takes the box from the mask, says how many differed, and reads what labelme2coco writes', () => {
    const path = cocoFile({
      info: { description: null, url: null, version: null, year: 2025, contributor: null, date_created: null },
      licenses: [{ url: null, id: 0, name: null }],
      images: [{ ...sceneImage, license: 0, url: null, date_captured: null }],
      type: 'instances',
      categories: [{ supercategory: null, id: 1, name: 'blob' }],
      annotations: [
        { id: 7, image_id: 1, category_id: 1, iscrowd: 0, area: 400, bbox: [0, 0, 99, 79], segmentation: [[20, 20, 60, 20, 60, 50, 20, 50]] },
      ],
    });
    const run = runLoupe(['import', folder, '--coco', path]);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe(`loupe: ${path}: warning: 1 annotations have a bbox more than 1 px from their mask's; the mask's box is used\n`);
    const out = join(work, 'out.json');
    withStore((store) => store.review.markReviewed(idOf(store, 's0.png'), null));
    expect(runLoupe(['export', folder, '--format', 'coco', '--out', out]).status).toBe(0);
    const coco = readJson(out);
    expect(coco.annotations).toEqual([expect.objectContaining({ id: 7, image_id: 1, bbox: [20, 20, 40, 30] })]);
    expect(coco.info).toEqual({ description: null, url: null, version: null, year: 2025, contributor: null, date_created: null });
    expect(coco.licenses).toEqual([{ url: null, id: 0, name: null }]);
    expect(coco.images).toEqual([{ id: 1, file_name: 's0.png', width: 256, height: 192, license: 0, url: null, date_captured: null }]);
  });
});

describe('COCO identity', () => {
  it('keeps imported ids through an export; new images, categories and annotations get ids above the largest', async () => {
    const own = join(work, 'own');
    mkdirSync(own);
    await writeImage(own, 'a.png', { width: 40, height: 30 });
    await writeImage(own, 'b.png', { width: 40, height: 30, seed: 2 });
    expect(runLoupe(['scan', own]).status).toBe(0);
    const square = [[5, 5, 15, 5, 15, 15, 5, 15]];
    const path = join(work, 'ids.json');
    writeFileSync(path, JSON.stringify({
      images: [{ id: 564, file_name: 'a.png', width: 40, height: 30 }],
      categories: [{ id: 13, name: 'sign', supercategory: 'outdoor' }],
      annotations: [{ id: 9001, image_id: 564, category_id: 13, segmentation: square, iscrowd: 0 }],
    }));
    expect(runLoupe(['import', own, '--coco', path]).status).toBe(0);
    const ownStore = openProject(own);
    try {
      const b = ownStore.images.getByPath('b.png')!;
      const [other] = ownStore.categories.ensure(['other']);
      ownStore.annotations.apply(b.id, diffOf({ added: [{ id: 'new-one' as Annotation['id'], imageId: b.id, categoryId: other!.id, bbox: [1, 1, 3, 3], mask: null, score: null, origin: 'human', modelId: null, state: 'accepted' }] }));
    } finally {
      ownStore.close();
    }
    const out = join(work, 'ids-out.json');
    expect(runLoupe(['export', own, '--format', 'coco', '--all', '--out', out]).status).toBe(0);
    const coco = readJson(out);
    expect(coco.images.map((i: { id: number; file_name: string }) => [i.file_name, i.id])).toEqual([['a.png', 564], ['b.png', 566]]);
    expect(coco.categories).toEqual([{ id: 13, name: 'sign', supercategory: 'outdoor' }, { id: 15, name: 'other' }]);
    expect(coco.annotations.map((a: { id: number; image_id: number; category_id: number }) => [a.id, a.image_id, a.category_id])).toEqual([
      [9001, 564, 13], [9002, 566, 15],
    ]);
  });
});

describe.skipIf(!hasCocoapiFixture)(
  hasCocoapiFixture ? `COCO identity of the pycocotools results in ${COCOAPI_FIXTURE}` : `skipped: ${COCOAPI_FIXTURE} is absent`,
  () => {
    it('round-trips image, category and annotation ids and the fields Loupe does not use, byte for byte on the second trip', async () => {
      const cases = readCocoapiCases();
      const sizes = new Map<number, [number, number]>();
      for (const c of cases) sizes.set(c.image_id, c.size);
      const dataset = {
        info: { description: 'cocoapi fake segmentation results', year: 2014 },
        licenses: [{ id: 3, name: 'Attribution-NonCommercial', url: 'http://creativecommons.org/licenses/by-nc/2.0/' }],
        images: [...sizes].map(([id, [height, width]]) => ({ id, file_name: `val/${id}.png`, width, height, license: 3, coco_url: `http://images.cocodataset.org/val2014/${id}.jpg` })),
        categories: [...new Set(cases.map((c) => c.category_id))].map((id) => ({ id, name: `class-${id}`, supercategory: 'thing' })),
        annotations: cases.map((c, i) => ({
          id: 100_000 + 3 * i, image_id: c.image_id, category_id: c.category_id, segmentation: { size: c.size, counts: c.counts }, iscrowd: 0,
        })),
      };
      const dataFolder = join(work, 'coco');
      for (const image of dataset.images) await writeImage(dataFolder, image.file_name, { width: image.width, height: image.height });
      const input = join(work, 'cocoapi.json');
      writeFileSync(input, JSON.stringify(dataset));
      expect(runLoupe(['scan', dataFolder]).status).toBe(0);
      const imported = runLoupe(['import', dataFolder, '--coco', input]);
      expect(imported.stdout).toContain(`imported ${cases.length} annotations into ${sizes.size} images`);

      const first = join(work, 'first.json');
      expect(runLoupe(['export', dataFolder, '--format', 'coco', '--all', '--out', first]).status).toBe(0);
      const coco = readJson(first);
      expect(coco.info).toEqual(dataset.info);
      expect(coco.licenses).toEqual(dataset.licenses);
      type Written = { id: number; image_id: number; category_id: number; segmentation: unknown };
      const byId = <T extends { id: number }>(list: readonly T[]) => [...list].sort((a, b) => a.id - b.id);
      const link = (a: Written) => [a.id, a.image_id, a.category_id, a.segmentation];
      expect(byId(coco.images)).toEqual(byId(dataset.images));
      expect(byId(coco.categories)).toEqual(byId(dataset.categories));
      expect(byId<Written>(coco.annotations).map(link)).toEqual(byId<Written>(dataset.annotations).map(link));

      // Its own export, imported into a fresh project of the same files, exports to the same bytes.
      const again = join(work, 'again');
      cpSync(dataFolder, again, { recursive: true, filter: (src) => !src.includes('.loupe') });
      expect(runLoupe(['scan', again]).status).toBe(0);
      expect(runLoupe(['import', again, '--coco', first]).status).toBe(0);
      const second = join(work, 'second.json');
      expect(runLoupe(['export', again, '--format', 'coco', '--all', '--out', second]).status).toBe(0);
      expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
    }, 120_000);
  },
);
