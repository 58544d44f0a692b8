// `loupe import --format labelme|yolo` and `loupe export --format yolo|voc|labelme`, run as a user runs them, on
// real image files and a real project database.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { polygonsToRle } from '../../app/geometry/polygon.js';
import { area, decode, encode, iou, toBbox } from '../../app/geometry/rle.js';
import { AnnotationId, CategoryId, ModelId, type Annotation, type Rle } from '../../app/model/index.js';
import { runLoupe } from '../cli/cli.test-support.js';
import { writeImage } from '../fs/images.test-support.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { diffOf } from '../../app/history/diff.js';

let work: string;
let folder: string;

beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'loupe-exchange-'));
  folder = join(work, 'photos');
  await writeImage(folder, 'a.jpg', { width: 64, height: 48 });
  await writeImage(folder, 'sub/b.png', { width: 40, height: 30, seed: 2 });
  await writeImage(folder, 'c.bmp', { width: 32, height: 32, seed: 3 });
  expect(runLoupe(['scan', folder]).status).toBe(0);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function withStore<T>(fn: (store: ProjectStore) => T): T {
  const store = openProject(folder);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

const annotationsOf = (path: string) =>
  withStore((store) => {
    const names = new Map(store.categories.list().map((c) => [c.id, c.name]));
    return store.annotations.forImage(store.images.getByPath(path)!.id).map((a) => ({ ...a, name: names.get(a.categoryId)! }));
  });
const countAnnotations = () => withStore((store) => (store.db.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n);
const writeJson = (path: string, value: unknown) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
};
const shape = (fields: Record<string, unknown>) => ({ label: 'cat', group_id: null, shape_type: 'polygon', flags: {}, description: '', ...fields });
const labelmeFile = (imagePath: string, width: number, height: number, shapes: unknown[]) => ({
  version: '5.4.1',
  flags: {},
  shapes,
  imagePath,
  imageData: null,
  imageHeight: height,
  imageWidth: width,
});

/** Marks every image reviewed with nothing shown: predictions still pending are rejected, as issue 13's rules settle them. */
const reviewAll = () => withStore((store) => {
  for (const image of store.images.list({ limit: 1000 }).items) store.review.markReviewed(image.id, null);
});

function tree(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? tree(root, path) : [path];
  });
}

describe('loupe import --format labelme', () => {
  it('imports LabelMe files beside the images: polygons, rectangles, circles, groups and ignore regions; points and lines counted', () => {
    writeJson(join(folder, 'a.json'), labelmeFile('a.jpg', 64, 48, [
      shape({ points: [[2, 2], [20, 2], [20, 20], [2, 20]] }),
      shape({ label: 'dog', shape_type: 'rectangle', points: [[30, 5], [40.5, 15.25]] }),
      shape({ label: 'ball', shape_type: 'circle', points: [[50, 30], [55, 30]] }),
      shape({ label: 'cat', group_id: 7, points: [[2, 30], [10, 30], [10, 40], [2, 40]] }),
      shape({ label: 'cat', group_id: 7, points: [[14, 30], [20, 30], [20, 40], [14, 40]] }),
      shape({ label: '__ignore__', points: [[40, 40], [60, 40], [60, 46], [40, 46]] }),
      shape({ shape_type: 'point', points: [[3, 3]] }),
      shape({ shape_type: 'line', points: [[3, 3], [9, 9]] }),
      shape({ shape_type: 'linestrip', points: [[3, 3], [9, 9], [1, 4]] }),
    ]));
    // LabelMe 3: no shape_type, the image also inside the file (ignored: the project's file is used).
    writeJson(join(folder, 'sub', 'b.json'), { shapes: [{ label: 'dog', points: [[1, 1], [9, 1], [9, 9]] }], imagePath: 'b.png', imageData: 'aGVsbG8=' });
    writeJson(join(folder, 'annotations.json'), { images: [], annotations: [], categories: [] });
    writeJson(join(folder, 'elsewhere.json'), labelmeFile('../../not-here.jpg', 10, 10, [shape({ points: [[1, 1], [5, 1], [5, 5]] })]));

    const run = runLoupe(['import', folder, '--format', 'labelme', folder]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${folder}: imported 6 annotations into 2 images, new categories: cat, dog, ball, __ignore__\n`);
    expect(run.stderr).toBe(
      `loupe: ${folder}: shapes without an area, not imported: 1 point, 1 line, 1 linestrip\n` +
        `loupe: ${folder}: 1 JSON files are not LabelMe files, left alone: annotations.json\n` +
        `loupe: ${folder}: 1 shapes in 1 files whose image is not in the project were not imported: elsewhere.json (../../not-here.jpg)\n`,
    );
    const a = annotationsOf('a.jpg');
    expect(a.map(({ name, crowd, mask }) => ({ name, crowd: crowd ?? false, mask: mask !== null }))).toEqual([
      { name: 'cat', crowd: false, mask: true },
      { name: 'dog', crowd: false, mask: false },
      { name: 'ball', crowd: false, mask: true },
      { name: 'cat', crowd: false, mask: true },
      { name: '__ignore__', crowd: true, mask: true },
    ]);
    expect(a[1]!.bbox).toEqual([30, 5, 10.5, 10.25]);
    expect(area(a[3]!.mask!)).toBe(8 * 10 + 6 * 10);
    expect(a.every((x) => x.origin === 'human' && x.state === 'accepted')).toBe(true);
    expect(annotationsOf('sub/b.png').map((x) => x.name)).toEqual(['dog']);

    // The same files again add nothing.
    expect(runLoupe(['import', folder, '--format', 'labelme', folder]).stdout).toBe(`${folder}: imported 0 annotations into 0 images; 6 already present, not added again\n`);
  });

  it('checks every file first: on problems nothing is written, and the first 20 are listed with a count of the rest', () => {
    const labels = join(work, 'labels');
    writeJson(join(labels, 'a.json'), labelmeFile('../photos/a.jpg', 64, 48, [
      shape({ points: [[1, 1], [5, 1], [5, 5]] }),
      ...Array.from({ length: 22 }, () => shape({ points: [[1, 1], [2, 2]] })),
    ]));
    writeJson(join(labels, 'sub', 'b.json'), labelmeFile('b.png', 41, 30, []));
    writeFileSync(join(labels, 'broken.json'), '{"shapes": [');
    const run = runLoupe(['import', folder, '--format', 'labelme', labels]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const line = run.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(new RegExp(`^loupe: ${labels}: 24 problems: a\\.json: shapes\\[1\\]: a polygon needs at least 3 points, has 2; `));
    expect(line).toContain('a.json: shapes[20]: a polygon');
    expect(line).not.toContain('shapes[21]');
    expect(line.endsWith('; and 4 more')).toBe(true);
    expect(countAnnotations()).toBe(0);
    // The JSON that stands in another folder than its image is matched through the tree it mirrors, and its size checked.
    rmSync(join(labels, 'a.json'));
    rmSync(join(labels, 'broken.json'));
    expect(runLoupe(['import', folder, '--format', 'labelme', labels]).stderr).toBe(
      `loupe: ${labels}: sub/b.json: says its image is 41 x 30, but sub/b.png is 40 x 30 (width x height, as displayed)\n`,
    );
  });
});

describe('loupe import --format yolo', () => {
  it('imports a YOLO dataset scanned as the project: train and val, polygons and boxes, classes in names order', async () => {
    const dataset = join(work, 'dataset');
    await writeImage(dataset, 'images/train/x.jpg', { width: 50, height: 40 });
    await writeImage(dataset, 'images/train/y.png', { width: 50, height: 40, seed: 1 });
    await writeImage(dataset, 'images/val/z.jpg', { width: 20, height: 20, seed: 2 });
    mkdirSync(join(dataset, 'labels', 'train'), { recursive: true });
    mkdirSync(join(dataset, 'labels', 'val'), { recursive: true });
    writeFileSync(join(dataset, 'labels/train/x.txt'), '1 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5\n0 0.75 0.5 0.2 0.5\n');
    writeFileSync(join(dataset, 'labels/val/z.txt'), '2 0.5 0.5 1 1\n');
    writeFileSync(join(dataset, 'data.yaml'), 'path: ../datasets/somewhere-else\ntrain: images/train\nval: images/val\nnames:\n  0: person\n  1: car\n  2: "traffic light"\n  3: unused\n');
    expect(runLoupe(['scan', dataset]).status).toBe(0);
    const run = runLoupe(['import', dataset, '--format', 'yolo', dataset]);
    expect(run.stderr).toBe(`loupe: ${dataset}: 1 of 3 images have no label file (no objects)\n`);
    expect(run.stdout).toBe(`${dataset}: imported 3 annotations into 2 images, new categories: person, car, traffic light, unused\n`);
    const store = openProject(dataset);
    try {
      const x = store.annotations.forImage(store.images.getByPath('images/train/x.jpg')!.id);
      expect(x.map((a) => [a.categoryId, a.mask === null ? 'box' : 'mask'])).toEqual([[2, 'mask'], [1, 'box']]);
      expect(toBbox(x[0]!.mask!)).toEqual([5, 4, 20, 16]);
      expect(x[1]!.bbox).toEqual([32.5, 10, 10, 20]);
      expect(store.categories.list().map((c) => c.name)).toEqual(['person', 'car', 'traffic light', 'unused']);
    } finally {
      store.close();
    }
  });

  it('refuses a dataset with problems, listing them, and writes nothing', async () => {
    const dataset = join(work, 'dataset');
    await writeImage(dataset, 'images/a.jpg', { width: 50, height: 40 });
    mkdirSync(join(dataset, 'labels'));
    writeFileSync(join(dataset, 'labels/a.txt'), '0 0.5 0.5 0.2\n5 0.5 0.5 0.2 0.2\n');
    writeFileSync(join(dataset, 'data.yaml'), 'train: images\nval: images/missing\nnames: [a]\n');
    expect(runLoupe(['scan', dataset]).status).toBe(0);
    const run = runLoupe(['import', dataset, '--format', 'yolo', join(dataset, 'data.yaml')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      `loupe: ${join(dataset, 'data.yaml')}: 3 problems: data.yaml: val: images/missing does not exist (under ${dataset}); ` +
        "labels/a.txt: line 1: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got 4 values; " +
        "labels/a.txt: line 2: class 5 is not in data.yaml's names (1 classes)\n",
    );
    const store = openProject(dataset);
    expect(store.categories.list()).toEqual([]);
    store.close();
  });
});

/** A ring: a 30 x 26 square with a 14 x 10 hole. */
function ringMask(): Rle {
  const bits = decode(polygonsToRle([[30, 20, 60, 20, 60, 46, 30, 46]], 48, 64));
  for (let y = 28; y < 38; y++) for (let x = 38; x < 52; x++) bits.data[y * 64 + x] = 0;
  return encode(bits);
}

/**
 * A project with one of everything an export must handle, all reviewed: on a.jpg a square, a mask of two parts
 * and a ring (dog), a box without a mask and a crowd region (cat); on sub/b.png a prediction (rejected when the
 * image is marked reviewed with nothing shown) and a triangle; c.bmp without annotations.
 */
function seedProject(): void {
  withStore((store) => {
    const [cat, dog] = store.categories.ensure(['cat', 'dog']);
    const a = store.images.getByPath('a.jpg')!;
    const b = store.images.getByPath('sub/b.png')!;
    const model = store.models.register({ name: 'm', format: 'torchvision-maskrcnn', labels: ['_', 'cat'], card: {}, path: '/m.onnx', sha256: 'ff' });
    const human = (imageId: typeof a.id, categoryId: CategoryId, mask: Rle | null, fields: Partial<Annotation> = {}): Annotation => ({
      id: AnnotationId(randomUUID()),
      imageId,
      categoryId,
      bbox: mask ? toBbox(mask) : [1.5, 2.25, 10, 8],
      mask,
      score: null,
      origin: 'human',
      modelId: null,
      state: 'accepted',
      ...fields,
    });
    store.annotations.apply(a.id, diffOf({
      added: [
        human(a.id, cat!.id, polygonsToRle([[4, 4, 24, 4, 24, 24, 4, 24]], 48, 64)),
        human(a.id, dog!.id, polygonsToRle([[30, 2, 36, 2, 36, 8, 30, 8], [50, 2, 56, 2, 56, 8, 50, 8]], 48, 64)),
        human(a.id, dog!.id, ringMask()),
        human(a.id, cat!.id, null),
        human(a.id, cat!.id, polygonsToRle([[0, 40, 10, 40, 10, 48, 0, 48]], 48, 64), { crowd: true }),
      ],
    }));
    store.annotations.replaceModelPredictions(b.id, ModelId(model.id), [{ categoryId: cat!.id, bbox: [1, 1, 5, 5], mask: null, score: 0.9 }]);
    store.annotations.apply(b.id, diffOf({ added: [human(b.id, dog!.id, polygonsToRle([[2, 2, 12, 2, 12, 12]], 30, 40))] }));
  });
  reviewAll();
}

describe('loupe export --format yolo|voc|labelme', () => {
  it('writes a YOLO dataset Ultralytics can train on, with a seeded split, and says what the format lost', () => {
    seedProject();
    const out = join(work, 'yolo');
    const run = runLoupe(['export', folder, '--format', 'yolo', '--out', out, '--val-fraction', '0.34', '--seed', '3']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${out}: 3 reviewed images \\(\\d train, \\d val\\), 5 objects, YOLO segment\\n$`));
    expect(run.stderr).toContain('1 masks of several parts were joined into one polygon each');
    expect(run.stderr).toContain('1 boxes without a mask were written as 4-corner polygons');
    expect(run.stderr).toContain('1 crowd regions were left out (YOLO has none)');
    const files = tree(out).sort();
    expect(files.filter((f) => f.startsWith('labels/')).map((f) => f.replace(/^labels\/(train|val)\//, '')).sort()).toEqual(['a.txt', 'c.txt', 'sub/b.txt']);
    expect(files.filter((f) => f.startsWith('images/'))).toHaveLength(3);
    expect(files).toContain('data.yaml');
    const yaml = readFileSync(join(out, 'data.yaml'), 'utf8');
    expect(yaml).toContain('train: "images/train"\nval: "images/val"\nnc: 2\nnames:\n  0: "cat"\n  1: "dog"\n');
    // Hard links: no copy of the photos.
    const linked = files.find((f) => f.endsWith('/a.jpg'))!;
    expect(statSync(join(out, linked)).ino).toBe(statSync(join(folder, 'a.jpg')).ino);

    // The same seed gives the same split; the folder must be new.
    const again = join(work, 'yolo-again');
    runLoupe(['export', folder, '--format', 'yolo', '--out', again, '--val-fraction', '0.34', '--seed', '3', '--images', 'none']);
    expect(tree(again).sort()).toEqual(files.filter((f) => !f.startsWith('images/')));
    const refused = runLoupe(['export', folder, '--format', 'yolo', '--out', out]);
    expect(refused).toMatchObject({ status: 2, stderr: `loupe: ${out}: exists and is not empty: an export writes a whole new folder (remove it, or name another)\n` });

    // Round trip: a new project of the same photos imports the export.
    const copy = join(work, 'copy');
    mkdirSync(copy);
    for (const f of ['a.jpg', 'sub/b.png', 'c.bmp']) {
      mkdirSync(join(copy, f, '..'), { recursive: true });
      writeFileSync(join(copy, f), readFileSync(join(folder, f)));
    }
    expect(runLoupe(['scan', copy]).status).toBe(0);
    expect(runLoupe(['import', copy, '--format', 'yolo', out]).stdout).toBe(`${out}: imported 5 annotations into 2 images, new categories: cat, dog\n`);
  });

  it('writes Pascal VOC: XML, indexed PNG label maps in the VOC palette, image sets, label map', () => {
    seedProject();
    const out = join(work, 'voc');
    const run = runLoupe(['export', folder, '--format', 'voc', '--out', out, '--include-pending', '--images', 'copy']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${out}: 3 reviewed images \\(\\d train, \\d val; 2 with masks\\), 6 objects, Pascal VOC\\n$`));
    expect(run.stderr).toContain('1 crowd regions were written as difficult objects with void (255) pixels');
    const files = tree(out).sort();
    expect(files).toEqual(expect.arrayContaining([
      'Annotations/a.xml', 'Annotations/c.xml', 'Annotations/sub/b.xml', 'JPEGImages/a.jpg', 'JPEGImages/c.bmp', 'JPEGImages/sub/b.png',
      'SegmentationClass/a.png', 'SegmentationObject/a.png', 'SegmentationObject/sub/b.png', 'ImageSets/Main/trainval.txt',
      'ImageSets/Segmentation/train.txt', 'ImageSets/Segmentation/val.txt', 'ImageSets/Segmentation/trainval.txt', 'labelmap.txt',
    ]));
    expect(readFileSync(join(out, 'ImageSets/Segmentation/trainval.txt'), 'utf8')).toBe('a\nsub/b\n');
    expect(readFileSync(join(out, 'ImageSets/Main/trainval.txt'), 'utf8')).toBe('a\nc\nsub/b\n');
    const objects = decodePng(readFileSync(join(out, 'SegmentationObject/a.png')));
    expect(objects).toMatchObject({ width: 64, height: 48, channels: 1, depth: 8 });
    expect(objects.palette?.slice(0, 4)).toEqual([[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]);
    expect(objects.data[10 * 64 + 10]).toBe(1); // the square, object 1
    expect(objects.data[44 * 64 + 2]).toBe(255); // the crowd region, void
    const classes = decodePng(readFileSync(join(out, 'SegmentationClass/a.png')));
    expect(classes.data[10 * 64 + 10]).toBe(1); // cat
    expect(classes.data[25 * 64 + 40]).toBe(2); // dog
    const xml = readFileSync(join(out, 'Annotations/a.xml'), 'utf8');
    expect(xml).toContain('<filename>a.jpg</filename>');
    expect((xml.match(/<object>/g) ?? []).length).toBe(5);
    expect(xml).toContain('<xmin>5</xmin>\n      <ymin>5</ymin>\n      <xmax>24</xmax>\n      <ymax>24</ymax>');
  });

  it('writes LabelMe files into a new folder or beside the images, and they import back', () => {
    seedProject();
    const out = join(work, 'labelme');
    const run = runLoupe(['export', folder, '--format', 'labelme', '--out', out]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${out}: 3 reviewed images, 6 annotations as LabelMe files\n`);
    expect(run.stderr).toBe(
      `loupe: ${out}: 1 masks have holes, which LabelMe polygons fill\n`,
    );
    expect(tree(out).sort()).toEqual(['a.json', 'c.json', 'sub/b.json']);
    const b = JSON.parse(readFileSync(join(out, 'sub/b.json'), 'utf8'));
    expect(b).toMatchObject({ version: '5.4.1', imagePath: '../../photos/sub/b.png', imageData: null, imageWidth: 40, imageHeight: 30 });
    const a = JSON.parse(readFileSync(join(out, 'a.json'), 'utf8'));
    expect(a.shapes.map((s: { label: string; shape_type: string; group_id: number | null }) => [s.label, s.shape_type, s.group_id])).toEqual([
      ['cat', 'polygon', null], ['dog', 'polygon', 1], ['dog', 'polygon', 1], ['dog', 'polygon', null], ['cat', 'rectangle', null], ['__ignore__', 'polygon', null],
    ]);

    const beside = runLoupe(['export', folder, '--format', 'labelme', '--beside-images']);
    expect(beside.stdout).toBe(`${folder}: 3 reviewed images, 6 annotations as LabelMe files beside the images\n`);
    expect(JSON.parse(readFileSync(join(folder, 'sub/b.json'), 'utf8')).imagePath).toBe('b.png');
    // Written again over its own files; a JSON there that is not LabelMe's stops it before anything is written.
    expect(runLoupe(['export', folder, '--format', 'labelme', '--beside-images']).status).toBe(0);
    writeFileSync(join(folder, 'c.json'), '{"settings": true}');
    const before = readFileSync(join(folder, 'a.json'), 'utf8');
    writeFileSync(join(folder, 'a.json'), before.replace('"version"', '"oldVersion"'));
    const refused = runLoupe(['export', folder, '--format', 'labelme', '--beside-images']);
    expect(refused).toMatchObject({ status: 2, stderr: `loupe: ${folder}: c.json: exists and is not a LabelMe file; it is left as it is\n` });
    expect(readFileSync(join(folder, 'a.json'), 'utf8')).toContain('"oldVersion"');
    expect(existsSync(join(folder, '.c.json.tmp'))).toBe(false);

    // A fresh project of the same photos gets the same masks back from the exported files.
    const copy = join(work, 'copy');
    for (const f of ['a.jpg', 'sub/b.png', 'c.bmp']) {
      mkdirSync(join(copy, f, '..'), { recursive: true });
      writeFileSync(join(copy, f), readFileSync(join(folder, f)));
    }
    runLoupe(['scan', copy]);
    expect(runLoupe(['import', copy, '--format', 'labelme', out]).stdout).toBe(`${out}: imported 6 annotations into 2 images, new categories: cat, dog\n`);
    const original = annotationsOf('a.jpg').filter((x) => x.mask && !x.crowd);
    const store = openProject(copy);
    const back = store.annotations.forImage(store.images.getByPath('a.jpg')!.id).filter((x) => x.mask && !x.crowd);
    store.close();
    // The ring comes back filled (its hole is lost, as the export said).
    const filled = polygonsToRle([[30, 20, 60, 20, 60, 46, 30, 46]], 48, 64);
    const expected = [original[0]!.mask!, original[1]!.mask!, filled];
    expect(back).toHaveLength(3);
    back.forEach((x, i) => expect(iou(x.mask!, expected[i]!)).toBeGreaterThanOrEqual(0.95));
  });

  it('refuses wrong options with a usage error', () => {
    const cases: [string[], string][] = [
      [['--format', 'yolo'], 'export --format yolo needs --out DIR'],
      [['--format', 'labelme'], 'export --format labelme needs --out DIR or --beside-images'],
      [['--format', 'yolo', '--out', 'x', '--val-fraction', '2'], "--val-fraction must be a number from 0 to 1, got '2'"],
      [['--format', 'yolo', '--out', 'x', '--task', 'pose'], "--task must be segment or detect, got 'pose'"],
      [['--format', 'voc', '--out', 'x', '--task', 'detect'], '--task is for yolo only'],
      [['--format', 'labelme', '--out', 'x', '--beside-images'], 'give --out DIR or --beside-images, not both'],
      [['--format', 'tfrecord', '--out', 'x'], "unknown format 'tfrecord' (coco, yolo, voc, labelme)"],
    ];
    for (const [args, message] of cases) {
      const run = runLoupe(['export', folder, ...args]);
      expect(run.status, message).toBe(1);
      expect(run.stderr.split('\n')[0]).toBe(`loupe: ${message}`);
    }
    expect(runLoupe(['import', folder, '--format', 'labelme']).stderr.split('\n')[0]).toBe('loupe: import --format labelme needs the LabelMe file or folder');
  });
});
