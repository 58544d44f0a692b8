import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encode } from '../../app/geometry/rle.js';
import { openProject } from '../store/index.js';
import { runLoupe } from './cli.test-support.js';
import { diffOf } from '../../app/history/diff.js';

const samples = fileURLToPath(new URL('../../resources/samples/', import.meta.url));
let work: string;
let folder: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'loupe-coco-cli-'));
  folder = join(work, 'images');
  cpSync(samples, folder, { recursive: true, filter: (src) => !src.includes('.loupe') });
  expect(runLoupe(['scan', folder]).status).toBe(0);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const writeJson = (name: string, value: unknown) => {
  const path = join(work, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
const countRows = () => {
  const store = openProject(folder, { readonly: true });
  try {
    return {
      annotations: (store.db.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n,
      categories: store.categories.list().length,
    };
  } finally {
    store.close();
  }
};

/** A COCO file for the sample folder: one image with a compressed RLE, a plain RLE (a crowd region) and a polygon. */
function sampleCoco() {
  const ground = readJson(join(samples, 'annotations.json'));
  const image = ground.images.find((i: { file_name: string }) => i.file_name === 'street.jpg');
  const { width, height } = image;
  const bits = new Uint8Array(width * height);
  for (let y = 5; y < 25; y++) for (let x = 10; x < 30; x++) bits[y * width + x] = 1;
  const compressed = encode({ data: bits, height, width });
  return {
    images: [image, { id: 99, file_name: 'not/here.jpg', width: 10, height: 10 }],
    categories: [{ id: 7, name: 'star' }, { id: 8, name: 'blob' }],
    annotations: [
      { id: 1, image_id: image.id, category_id: 8, segmentation: { size: [height, width], counts: compressed.counts }, bbox: [10, 5, 20, 20], area: 400, iscrowd: 0 },
      { id: 2, image_id: image.id, category_id: 7, segmentation: { size: [height, width], counts: [5, 10, height * width - 15] }, bbox: [0, 5, 1, 10], area: 10, iscrowd: 1 },
      { id: 3, image_id: image.id, category_id: 7, segmentation: [[50, 50, 90, 50, 70, 90]], bbox: [50, 50, 40, 40], area: 800, iscrowd: 0 },
      { id: 4, image_id: 99, category_id: 7, segmentation: [], bbox: [1, 1, 2, 2], area: 4, iscrowd: 0 },
    ],
  };
}

describe('loupe import', () => {
  it('imports polygons, plain and compressed RLE and crowd regions; export --all gives the same RLE strings back', () => {
    const input = sampleCoco();
    const cocoPath = writeJson('in.json', input);
    const run = runLoupe(['import', folder, '--coco', cocoPath]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${cocoPath}: imported 3 annotations into 1 images, new categories: star, blob\n`);
    expect(run.stderr).toBe(`loupe: ${cocoPath}: 1 annotations for 1 images not in the project were not imported: not/here.jpg\n`);

    const out = join(work, 'out.json');
    expect(runLoupe(['export', folder, '--format', 'coco', '--all', '--out', out])).toMatchObject({ status: 0, stdout: `${out}: 10 images, 3 annotations\n` });
    const exported = readJson(out);
    expect(exported.categories.map((c: { name: string }) => c.name)).toEqual(['star', 'blob']);
    const [first, second, third] = exported.annotations;
    expect(first.segmentation).toEqual(input.annotations[0]!.segmentation);
    expect(first.area).toBe(400);
    expect(second.segmentation.counts).toEqual(expect.any(String));
    expect(third.segmentation).toEqual({ size: first.segmentation.size, counts: expect.any(String) });
    expect(exported.annotations.map((a: { iscrowd: number }) => a.iscrowd)).toEqual([0, 1, 0]);

    // The exported file imported into a fresh project exports to identical strings again.
    const again = join(work, 'again');
    cpSync(folder, again, { recursive: true, filter: (src) => !src.includes('.loupe') });
    expect(runLoupe(['scan', again]).status).toBe(0);
    expect(runLoupe(['import', again, '--coco', out]).status).toBe(0);
    const out2 = join(work, 'out2.json');
    expect(runLoupe(['export', again, '--format', 'coco', '--all', '--out', out2]).status).toBe(0);
    const rles = (file: string) => readJson(file).annotations.map((a: { segmentation: { counts: string } }) => a.segmentation.counts);
    expect(rles(out2)).toEqual(rles(out));
    expect(readJson(out2).annotations.map((a: { iscrowd: number }) => a.iscrowd)).toEqual([0, 1, 0]);

    expect(runLoupe(['import', folder, '--coco', cocoPath]).stdout).toContain('imported 0 annotations into 0 images; 3 already present');
  });

  it('imports the shipped ground truth of the samples', () => {
    const run = runLoupe(['import', folder, '--coco', join(samples, 'annotations.json')]);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(runLoupe(['stats', folder, '--json']).stdout).classes.map((c: { instances: number }) => c.instances)).toEqual([11, 14, 12, 10]);
  });

  const bad: [string, (coco: ReturnType<typeof sampleCoco>) => unknown, RegExp][] = [
    ['malformed JSON', () => '{"images": [', /^malformed JSON: /],
    ['RLE counts that do not sum to height x width', (c) => { (c.annotations[1]!.segmentation as { counts: number[] }).counts = [5, 10]; return c; }, /^annotations\[1\]\.segmentation: .*sum/],
    ['a polygon with 2 points', (c) => { c.annotations[2]!.segmentation = [[1, 1, 5, 5]]; return c; }, /^annotations\[2\]\.segmentation\[0\]: polygon has 2 points, needs at least 3/],
    ['an unknown category id', (c) => { c.annotations[2]!.category_id = 42; return c; }, /^annotations\[2\]\.category_id: 42 does not exist/],
    ['an image whose size differs from the file', (c) => { c.images[0]!.width += 1; c.annotations.splice(0, 2); return c; }, /^images\[0\]: street\.jpg is \d+x\d+ in the COCO file but \d+x\d+/],
  ];
  for (const [what, make, reason] of bad) {
    it(`refuses ${what}, writing nothing`, () => {
      const path = writeJson('bad.json', make(sampleCoco()));
      const run = runLoupe(['import', folder, '--coco', path]);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.split('\n')).toHaveLength(2);
      expect(run.stderr.startsWith(`loupe: ${path}: `)).toBe(true);
      expect(run.stderr.slice(`loupe: ${path}: `.length)).toMatch(reason);
      expect(countRows()).toEqual({ annotations: 0, categories: 0 });
    });
  }

  it('names a missing folder or file, and asks for --coco', () => {
    const cocoPath = writeJson('in.json', sampleCoco());
    expect(runLoupe(['import', join(work, 'nope'), '--coco', cocoPath])).toMatchObject({ status: 2, stderr: `loupe: ${join(work, 'nope')}: no such folder\n` });
    expect(runLoupe(['import', folder, '--coco', join(work, 'missing.json')])).toMatchObject({ status: 2, stderr: `loupe: ${join(work, 'missing.json')}: no such file\n` });
    expect(runLoupe(['import', folder])).toMatchObject({ status: 1, stderr: expect.stringContaining('import needs --coco FILE') });
  });
});

describe('loupe export', () => {
  function prepare() {
    expect(runLoupe(['import', folder, '--coco', join(samples, 'annotations.json')]).status).toBe(0);
    const store = openProject(folder);
    try {
      const street = store.images.getByPath('street.jpg')!;
      const garden = store.images.getByPath('garden.jpg')!;
      const [rejected, ...kept] = store.annotations.forImage(street.id);
      store.annotations.apply(street.id, diffOf({ updated: [{ before: rejected!, after: { ...rejected!, state: 'rejected' } }] }));
      store.images.setStatus([street.id, garden.id], 'reviewed');
      return { keptOnStreet: kept.length, onGarden: store.annotations.forImage(garden.id).length, rejectedBbox: rejected!.bbox };
    } finally {
      store.close();
    }
  }

  it('writes only reviewed images by default, never rejected annotations, atomically', () => {
    const { keptOnStreet, onGarden, rejectedBbox } = prepare();
    const out = join(work, 'reviewed.json');
    writeFileSync(out, 'old content');
    const run = runLoupe(['export', folder, '--format', 'coco', '--out', out]);
    expect(run).toMatchObject({ status: 0, stdout: `${out}: 2 reviewed images, ${keptOnStreet + onGarden} annotations\n` });
    const coco = readJson(out);
    expect(coco.images.map((i: { file_name: string }) => i.file_name)).toEqual(['garden.jpg', 'street.jpg']);
    expect(coco.annotations.some((a: { bbox: number[] }) => a.bbox.join() === rejectedBbox.join())).toBe(false);
    expect(coco.annotations.every((a: { score?: number; iscrowd: number }) => a.score === undefined && a.iscrowd === 0)).toBe(true);
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes pending predictions only with --include-pending, saying so, and their scores only with --scores', () => {
    const store = openProject(folder);
    try {
      const image = store.images.getByPath('wall.jpg')!;
      const model = store.models.register({ name: 'm', format: 'torchvision-maskrcnn', labels: ['bg', 'star'], card: {}, path: '/m.onnx', sha256: 'x' });
      const [star] = store.categories.ensure(['star']);
      store.annotations.replaceModelPredictions(image.id, model.id, [{ categoryId: star!.id, bbox: [1, 2, 3, 4], mask: null, score: 0.75 }]);
    } finally {
      store.close();
    }
    const withScores = join(work, 'scores.json');
    const without = join(work, 'plain.json');
    const truth = join(work, 'truth.json');
    const run = runLoupe(['export', folder, '--format', 'coco', '--all', '--include-pending', '--scores', '--out', withScores]);
    expect(run).toMatchObject({ status: 0, stdout: `${withScores}: 10 images, 1 annotations\n  including 1 pending predictions (--include-pending)\n` });
    expect(runLoupe(['export', folder, '--format', 'coco', '--all', '--include-pending', '--out', without]).status).toBe(0);
    expect(runLoupe(['export', folder, '--format', 'coco', '--all', '--out', truth]).status).toBe(0);
    expect(readJson(withScores).annotations).toEqual([expect.objectContaining({ bbox: [1, 2, 3, 4], score: 0.75, segmentation: [] })]);
    expect(readJson(without).annotations[0].score).toBeUndefined();
    expect(readJson(truth).annotations).toEqual([]);
  });

  it('writes polygons with --polygons', () => {
    prepare();
    const out = join(work, 'polygons.json');
    expect(runLoupe(['export', folder, '--format', 'coco', '--polygons', '--out', out]).status).toBe(0);
    const segmentations = readJson(out).annotations.map((a: { segmentation: unknown }) => a.segmentation);
    expect(segmentations.length).toBeGreaterThan(0);
    for (const s of segmentations) {
      expect(Array.isArray(s)).toBe(true);
      expect(s[0].length).toBeGreaterThanOrEqual(6);
    }
  });

  it('keeps an existing file when the export cannot be written', () => {
    const out = join(work, 'missing-dir', 'x.json');
    expect(runLoupe(['export', folder, '--format', 'coco', '--out', out])).toMatchObject({
      status: 2, stderr: `loupe: ${join(work, 'missing-dir')}: no such folder to write into\n`,
    });
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 without --format coco or --out', () => {
    expect(runLoupe(['export', folder, '--out', 'x.json'])).toMatchObject({ status: 1, stderr: expect.stringContaining('export needs --format coco') });
    expect(runLoupe(['export', folder, '--format', 'tfrecord', '--out', 'x.json'])).toMatchObject({ status: 1, stderr: expect.stringContaining("unknown format 'tfrecord'") });
    expect(runLoupe(['export', folder, '--format', 'coco'])).toMatchObject({ status: 1, stderr: expect.stringContaining('export needs --out FILE') });
  });
});
