import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COCOAPI_FIXTURE as FIXTURE, hasCocoapiFixture as hasFixture, readCocoapiCases } from '../../main/testing/cocoapi-fixture.test-support.js';
import { polygonsToRle } from '../geometry/polygon.js';
import { area, encode, iou, type BitMask } from '../geometry/rle.js';
import { AnnotationId, CategoryId, ImageId, ModelId } from '../model/ids.js';
import type { Annotation, Category, ImageRecord, Rle } from '../model/types.js';
import { buildCoco, buildCocoDataset, CocoError, parseCocoDataset, readCocoDataset, segmentationToRle, type CocoDataset } from './coco.js';

const PYTHON = fileURLToPath(new URL('../../tools/model/.venv/bin/python', import.meta.url));

function image(id: number, width: number, height: number, path = `photos/img-${id}.jpg`): ImageRecord {
  return { id: ImageId(id), path, width, height, orientation: 1, hash: 'ab'.repeat(32), status: 'reviewed', error: null, missing: false };
}

const categories: Category[] = [
  { id: CategoryId(1), name: 'cat', color: '#ff0000' },
  { id: CategoryId(3), name: 'dog', color: '#00ff00' },
];

let serial = 0;
function annotation(imageId: number, mask: Rle | null, fields: Partial<Annotation> = {}): Annotation {
  return {
    id: AnnotationId(`00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`),
    imageId: ImageId(imageId),
    categoryId: CategoryId(1),
    bbox: [1, 2, 3, 4],
    mask,
    score: null,
    origin: 'human',
    modelId: null,
    state: 'accepted',
    ...fields,
  };
}

function rect(width: number, height: number, x0: number, y0: number, w: number, h: number): BitMask {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y0 + h; y++) data.fill(1, y * width + x0, y * width + x0 + w);
  return { width, height, data };
}

/** Through text, as a file would be. */
function viaJson(dataset: CocoDataset): unknown {
  return JSON.parse(JSON.stringify(dataset));
}

function errorOf(json: unknown): string {
  try {
    parseCocoDataset(json);
  } catch (e) {
    expect(e).toBeInstanceOf(CocoError);
    return (e as Error).message;
  }
  throw new Error('expected parseCocoDataset to throw');
}

/** A valid dataset as plain JSON, for the error tests to break one thing in. */
function validJson() {
  return {
    images: [{ id: 7, file_name: 'a.jpg', width: 40, height: 30 }],
    categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }],
    annotations: [
      { id: 1, image_id: 7, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0, segmentation: [[0, 0, 10, 0, 10, 10, 0, 10]] },
      { id: 2, image_id: 7, category_id: 2, bbox: [0, 0, 40, 30], area: 1200, iscrowd: 1, segmentation: { size: [30, 40], counts: [0, 1200] } },
      { id: 3, image_id: 7, category_id: 2, bbox: [0, 0, 40, 30], area: 0, iscrowd: 0, segmentation: { size: [30, 40], counts: encode(rect(40, 30, 0, 0, 0, 0)).counts } },
    ],
  };
}

describe('buildCocoDataset', () => {
  const images = [image(2, 40, 30), image(1, 20, 10, 'nested/dir/b.png')];
  const m1 = encode(rect(20, 10, 2, 3, 5, 4));
  const m2 = encode(rect(40, 30, 10, 5, 8, 9));
  const annotations = [
    annotation(2, m2, { categoryId: CategoryId(3), bbox: [10, 5, 8, 9], score: 0.91, origin: 'model', modelId: ModelId(1) }),
    annotation(1, m1, { bbox: [2, 3, 5, 4] }),
    annotation(2, null, { bbox: [1.5, 2.5, 10, 4] }),
    annotation(1, m1, { state: 'rejected', score: 0.2, origin: 'model', modelId: ModelId(1) }),
  ];

  it('writes images, categories and annotations the COCO way', () => {
    const coco = buildCocoDataset({ images, categories, annotations, segmentation: 'rle', includeScores: false, info: { description: 'test' } });
    expect(coco.info).toEqual({ description: 'test' });
    expect(coco.images).toEqual([
      { id: 2, file_name: 'photos/img-2.jpg', width: 40, height: 30 },
      { id: 1, file_name: 'nested/dir/b.png', width: 20, height: 10 },
    ]);
    expect(coco.categories).toEqual([{ id: 1, name: 'cat' }, { id: 3, name: 'dog' }]);
    // In the order of their images, then as given; the rejected prediction is left out.
    expect(coco.annotations).toEqual([
      { id: 1, image_id: 2, category_id: 3, segmentation: { size: [30, 40], counts: m2.counts }, area: 72, bbox: [10, 5, 8, 9], iscrowd: 0 },
      { id: 2, image_id: 2, category_id: 1, segmentation: [], area: 40, bbox: [1.5, 2.5, 10, 4], iscrowd: 0 },
      { id: 3, image_id: 1, category_id: 1, segmentation: { size: [10, 20], counts: m1.counts }, area: 20, bbox: [2, 3, 5, 4], iscrowd: 0 },
    ]);
  });

  it('writes scores only when asked, and only where there is one', () => {
    const coco = buildCocoDataset({ images, categories, annotations, segmentation: 'rle', includeScores: true });
    expect(coco.annotations.map((a) => a.score)).toEqual([0.91, undefined, undefined]);
    expect(coco.annotations.map((a) => 'score' in a)).toEqual([true, false, false]);
  });

  it('writes a mask with holes as RLE among polygons, or (strict) as a polygon with its holes filled, counting them', () => {
    const ring = rect(20, 10, 2, 2, 10, 6);
    ring.data.fill(0, 4 * 20 + 5, 4 * 20 + 8);
    ring.data.fill(0, 5 * 20 + 5, 5 * 20 + 8);
    const input = {
      images: [image(1, 20, 10)],
      categories,
      annotations: [annotation(1, encode(ring), { bbox: [2, 2, 10, 6] }), annotation(1, encode(rect(20, 10, 14, 1, 4, 4)))],
      segmentation: 'polygon' as const,
      includeScores: false,
    };
    const valid = buildCoco(input);
    expect(valid.holes).toBe(1);
    const [ringOut, solid] = valid.dataset.annotations;
    expect(ringOut!.segmentation).toEqual({ size: [10, 20], counts: encode(ring).counts });
    expect(Array.isArray(solid!.segmentation)).toBe(true);

    const strict = buildCoco({ ...input, polygonsStrict: true });
    expect(strict.holes).toBe(1);
    const [a] = strict.dataset.annotations;
    expect(Array.isArray(a!.segmentation)).toBe(true);
    expect(a!.area).toBe(54);
    expect(area(segmentationToRle(a!.segmentation, 10, 20)!)).toBe(60);
  });

  it('rounds polygon coordinates to 2 decimals', () => {
    const masks = fc.sample(fc.tuple(fc.nat(60), fc.nat(40), fc.integer({ min: 2, max: 30 }), fc.integer({ min: 2, max: 30 })), { seed: 11, numRuns: 40 })
      .map(([x, y, w, h]) => annotation(1, encode(rect(100, 80, x, y, Math.min(w, 100 - x), Math.min(h, 80 - y)))));
    const coco = buildCocoDataset({ images: [image(1, 100, 80)], categories, annotations: masks, segmentation: 'polygon', includeScores: false, polygonTolerance: 1.3 });
    const values = coco.annotations.flatMap((a) => (a.segmentation as number[][]).flat());
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) expect(Math.abs(v * 100 - Math.round(v * 100))).toBeLessThan(1e-6);
    expect(JSON.stringify(coco)).not.toMatch(/\.\d{3,}/);
  });

  it('writes COCO ids, info, licenses and the fields Loupe does not use as given', () => {
    const built = buildCoco({
      images: [image(1, 20, 10)],
      categories,
      annotations: [annotation(1, null, { bbox: [1, 1, 2, 2] }), annotation(1, null, { bbox: [3, 3, 2, 2], categoryId: CategoryId(3) })],
      segmentation: 'rle',
      includeScores: false,
      info: { year: 2014, contributor: null },
      licenses: [{ id: 3, name: 'CC BY', url: null }],
      cocoIds: { images: new Map([[ImageId(1), 564]]), categories: new Map([[CategoryId(3), 18]]) },
      extras: { images: new Map([[ImageId(1), { license: 3, id: 99 }]]), categories: new Map([[CategoryId(3), { supercategory: 'animal' }]]) },
    }).dataset;
    expect(built.info).toEqual({ year: 2014, contributor: null });
    expect(built.licenses).toEqual([{ id: 3, name: 'CC BY', url: null }]);
    expect(built.images).toEqual([{ license: 3, id: 564, file_name: 'photos/img-1.jpg', width: 20, height: 10 }]);
    expect(built.categories).toEqual([{ id: 1, name: 'cat' }, { supercategory: 'animal', id: 18, name: 'dog' }]);
    expect(built.annotations.map((a) => [a.id, a.image_id, a.category_id])).toEqual([[1, 564, 1], [2, 564, 18]]);
  });

  it('writes the reviewed truth: pending predictions only when asked, never rejected or stale ones', () => {
    const pending = annotation(1, null, { origin: 'model', modelId: ModelId(1), state: 'pending', score: 0.7 });
    const stale = annotation(1, null, { stale: { width: 30, height: 10 } });
    const kept = annotation(1, null);
    const build = (includePending: boolean) =>
      buildCocoDataset({ images: [image(1, 20, 10)], categories, annotations: [pending, stale, kept], segmentation: 'rle', includeScores: true, includePending });
    expect(build(false).annotations.map((a) => a.score ?? null)).toEqual([null]);
    expect(build(true).annotations.map((a) => a.score ?? null)).toEqual([0.7, null]);
  });

  it('keeps a speck that simplification would drop', () => {
    const coco = buildCocoDataset({
      images: [image(1, 20, 10)],
      categories,
      annotations: [annotation(1, encode(rect(20, 10, 4, 4, 1, 1)))],
      segmentation: 'polygon',
      includeScores: false,
    });
    expect(coco.annotations[0]!.segmentation).toEqual([[5, 4.5, 4.5, 4, 4, 4.5, 4.5, 5]]);
  });

  it('writes a crowd region with iscrowd 1, as RLE even when the other masks become polygons', () => {
    const single = encode(rect(20, 10, 1, 1, 4, 4));
    const group = encode(rect(20, 10, 8, 2, 10, 6));
    const coco = buildCocoDataset({
      images: [image(1, 20, 10)],
      categories,
      annotations: [annotation(1, single), annotation(1, group, { crowd: true })],
      segmentation: 'polygon',
      includeScores: false,
    });
    const [one, crowd] = coco.annotations;
    expect(one).toMatchObject({ iscrowd: 0 });
    expect(Array.isArray(one!.segmentation)).toBe(true);
    expect(crowd).toMatchObject({ iscrowd: 1, segmentation: { size: [10, 20], counts: group.counts }, area: 60 });
  });

  it('refuses annotations whose image, category or mask size does not fit', () => {
    const build = (a: Annotation) => () => buildCocoDataset({ images, categories, annotations: [a], segmentation: 'rle', includeScores: false });
    const stray = annotation(9, null);
    expect(build(stray)).toThrow(new CocoError(`annotation ${stray.id}`, 'its image 9 is not among the images to export'));
    expect(build(annotation(1, null, { categoryId: CategoryId(2) }))).toThrow(/its category 2 is not among the categories/);
    expect(build(annotation(1, m2))).toThrow(/mask is 30 x 40 but image nested\/dir\/b.png is 10 x 20/);
  });
});

describe('parseCocoDataset', () => {
  it('reads its own output back unchanged, keeping every RLE string', () => {
    const masks = fc.sample(
      fc.tuple(fc.nat(30), fc.nat(20), fc.nat(30), fc.nat(20)).map(([x, y, w, h]) => encode(rect(40, 30, Math.min(x, 39), Math.min(y, 29), Math.min(w, 40 - Math.min(x, 39)), Math.min(h, 30 - Math.min(y, 29))))),
      { seed: 3, numRuns: 60 },
    );
    const annotations = masks.map((m, i) => annotation(1 + (i % 3), m, { score: i % 2 ? i / 100 : null }));
    const coco = buildCocoDataset({
      images: [image(1, 40, 30), image(2, 40, 30), image(3, 40, 30)],
      categories,
      annotations: [...annotations, annotation(3, null)],
      segmentation: 'rle',
      includeScores: true,
    });
    const back = parseCocoDataset(viaJson(coco));
    expect(back).toEqual(coco);
    const byImage = [1, 2, 3].flatMap((img) => masks.filter((_, i) => 1 + (i % 3) === img));
    expect(back.annotations.slice(0, -1).map((a) => segmentationToRle(a.segmentation, 30, 40)!.counts)).toEqual(
      byImage.map((m) => m.counts),
    );
  });

  it('accepts polygons, plain RLE, compressed RLE, iscrowd and boxes without masks', () => {
    const json = validJson();
    json.annotations.push({ id: 4, image_id: 7, category_id: 1, bbox: [1, 1, 2, 2], area: 4, iscrowd: 0, segmentation: [] });
    const coco = parseCocoDataset(json);
    const [poly, plain, compressed, box] = coco.annotations.map((a) => segmentationToRle(a.segmentation, 30, 40));
    expect(area(poly!)).toBe(100);
    expect(plain).toEqual(encode(rect(40, 30, 0, 0, 40, 30)));
    expect(compressed).toEqual(encode(rect(40, 30, 0, 0, 0, 0)));
    expect(box).toBeNull();
    expect(coco.annotations[1]!.iscrowd).toBe(1);
  });

  it('takes a missing bbox and area from the mask, and defaults iscrowd to 0', () => {
    const coco = parseCocoDataset({
      images: [{ id: 1, file_name: 'a.jpg', width: 20, height: 10 }],
      categories: [{ id: 1, name: 'cat' }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[2, 3, 7, 3, 7, 7, 2, 7]], score: 0.5 }],
    });
    expect(coco.annotations[0]).toEqual({
      id: 1, image_id: 1, category_id: 1, segmentation: [[2, 3, 7, 3, 7, 7, 2, 7]], bbox: [2, 3, 5, 4], area: 20, iscrowd: 0, score: 0.5,
    });
  });

  it('names the path and the reason for each kind of bad input', () => {
    const cases: [(j: ReturnType<typeof validJson>) => unknown, string][] = [
      [(j) => { j.annotations[1]!.segmentation = { size: [30, 40], counts: [600, 400] }; return j; },
        'annotations[1].segmentation: RLE counts sum to 1000, expected 1200 (height 30 x width 40)'],
      [(j) => { j.annotations[2]!.segmentation = { size: [30, 40], counts: compressCounts1000() }; return j; },
        'annotations[2].segmentation: RLE counts sum to 1000, expected 1200 (height 30 x width 40)'],
      [(j) => { j.annotations[0]!.segmentation = [[0, 0, 5, 5, 0, 5], [1, 1, 2, 2]]; return j; },
        'annotations[0].segmentation[1]: polygon has 2 points, needs at least 3'],
      [(j) => { j.annotations[0]!.category_id = 9; return j; }, 'annotations[0].category_id: 9 does not exist'],
      [(j) => { j.annotations[2]!.image_id = 8; return j; }, 'annotations[2].image_id: 8 does not exist'],
      [(j) => { j.annotations[2]!.segmentation = { size: [30, 40], counts: 'ab c' }; return j; },
        'annotations[2].segmentation: RLE string has an invalid character " " at position 2'],
      [(j) => { j.annotations[1]!.segmentation = { size: [30, 40], counts: [1300, -100] }; return j; },
        'annotations[1].segmentation: RLE run 1 must be a non-negative integer, got -100'],
      [(j) => { j.annotations[1]!.segmentation = { size: [20, 60], counts: [1200] }; return j; },
        'annotations[1].segmentation.size: [20, 60] does not match image 7 (height 30 x width 40)'],
      [(j) => { j.annotations[1]!.segmentation = { size: [30], counts: [30] } as never; return j; },
        'annotations[1].segmentation.size: expected [height, width], got [30]'],
      [(j) => { j.annotations[0]!.segmentation = 'polygon' as never; return j; },
        'annotations[0].segmentation: expected polygons [[x1, y1, ...], ...] or RLE {size, counts}'],
      [(j) => { j.annotations[0]!.segmentation = [[0, 0, 1, 'x', 2, 2]] as never; return j; },
        'annotations[0].segmentation[0]: polygon coordinate 3 is not a finite number (x)'],
      [(j) => { j.annotations[2]!.id = 1; return j; }, 'annotations[2].id: 1 is used twice'],
      [(j) => { j.categories[1]!.name = 'cat'; return j; }, 'categories[1].name: "cat" is used twice'],
      [(j) => { j.images.push({ ...j.images[0]! }); return j; }, 'images[1].id: 7 is used twice'],
      [(j) => { (j.annotations[0] as { bbox: unknown }).bbox = [0, 0, 10]; return j; },
        'annotations[0].bbox: Too small: expected array to have >=4 items'],
      [(j) => { delete (j.images[0] as { width?: number }).width; return j; },
        'images[0].width: Invalid input: expected number, received undefined'],
      [(j) => { (j.annotations[2] as { image_id: unknown }).image_id = '7'; (j.annotations[1] as { id: unknown }).id = null; return j; },
        'annotations[1].id: Invalid input: expected number, received null (and 1 more problem)'],
      [() => [], '(top level): Invalid input: expected object, received array'],
    ];
    for (const [breakIt, message] of cases) expect(errorOf(breakIt(validJson()))).toBe(message);
  });

  it('lists every problem, not only the first', () => {
    const j = validJson();
    j.annotations[0]!.category_id = 9;
    j.annotations[1]!.segmentation = { size: [30, 40], counts: [600, 400] };
    j.annotations[2]!.image_id = 8;
    try {
      parseCocoDataset(j);
      throw new Error('expected a CocoError');
    } catch (e) {
      expect((e as CocoError).problems).toEqual([
        { path: 'annotations[0].category_id', reason: '9 does not exist' },
        { path: 'annotations[1].segmentation', reason: 'RLE counts sum to 1000, expected 1200 (height 30 x width 40)' },
        { path: 'annotations[2].image_id', reason: '8 does not exist' },
      ]);
      expect((e as Error).message).toBe('annotations[0].category_id: 9 does not exist (and 2 more problems)');
    }
  });

  it('accepts what labelme2coco writes: null in optional fields, and fields COCO does not define', () => {
    const json = {
      info: { description: null, url: null, version: null, year: 2025, contributor: null, date_created: '2025-01-01' },
      licenses: [{ url: null, id: 0, name: null }],
      images: [{ license: 0, url: null, file_name: 'a.jpg', height: 30, width: 40, date_captured: null, id: 0 }],
      type: 'instances',
      annotations: [{ id: 0, image_id: 0, category_id: 1, segmentation: [[1, 1, 9, 1, 9, 9, 1, 9]], area: 64, bbox: [1, 1, 8, 8], iscrowd: 0, score: null }],
      categories: [{ supercategory: null, id: 0, name: '_background_' }, { supercategory: null, id: 1, name: 'cat' }],
    };
    const coco = parseCocoDataset(json);
    expect(coco.info).toEqual(json.info);
    expect(coco.licenses).toEqual(json.licenses);
    expect(coco.images[0]).toEqual(json.images[0]);
    expect(coco.categories).toEqual([{ id: 0, name: '_background_' }, { id: 1, name: 'cat' }]);
    expect(coco.annotations[0]).not.toHaveProperty('score');
  });

  it('takes bbox and area from the mask, counting file boxes that differ by more than a pixel', () => {
    const j = validJson();
    j.annotations[0]!.bbox = [0, 0, 99, 79];
    j.annotations[1]!.bbox = [0.5, 0, 40, 30];
    const { dataset, bboxFromMask } = readCocoDataset(j);
    expect(dataset.annotations[0]!.bbox).toEqual([0, 0, 10, 10]);
    expect(dataset.annotations[1]!.bbox).toEqual([0, 0, 40, 30]);
    expect(bboxFromMask).toBe(1);
  });

  it('refuses a box-only annotation wholly outside its image', () => {
    const j = validJson();
    j.annotations.push({ id: 4, image_id: 7, category_id: 1, bbox: [40, 5, 3, 3], area: 9, iscrowd: 0, segmentation: [] });
    j.annotations.push({ id: 5, image_id: 7, category_id: 1, bbox: [-5, 5, 5, 3], area: 9, iscrowd: 0, segmentation: [] });
    j.annotations.push({ id: 6, image_id: 7, category_id: 1, bbox: [38, 28, 5, 5], area: 25, iscrowd: 0, segmentation: [] });
    try {
      parseCocoDataset(j);
      throw new Error('expected a CocoError');
    } catch (e) {
      expect((e as CocoError).problems).toEqual([
        { path: 'annotations[3].bbox', reason: '[40, 5, 3, 3] lies wholly outside image 7 (width 40 x height 30)' },
        { path: 'annotations[4].bbox', reason: '[-5, 5, 5, 3] lies wholly outside image 7 (width 40 x height 30)' },
      ]);
    }
  });

  it('rejects a box-only annotation without a bbox', () => {
    const j = validJson();
    j.annotations[0]!.segmentation = [];
    delete (j.annotations[0] as { bbox?: unknown }).bbox;
    expect(errorOf(j)).toBe('annotations[0].bbox: is missing, and there is no mask to take it from');
  });
});

/** A compressed string whose runs add up to 1000. */
function compressCounts1000(): string {
  return encode({ width: 40, height: 25, data: new Uint8Array(1000) }).counts;
}

describe('polygon export', () => {
  it('re-imports convex masks with IoU >= 0.9', () => {
    const convex = fc
      .record({
        cx: fc.double({ min: 35, max: 65, noNaN: true }),
        cy: fc.double({ min: 35, max: 45, noNaN: true }),
        r: fc.double({ min: 12, max: 30, noNaN: true }),
        squash: fc.double({ min: 0.7, max: 1, noNaN: true }),
        n: fc.integer({ min: 3, max: 12 }),
        turn: fc.double({ min: 0, max: Math.PI, noNaN: true }),
      })
      .map(({ cx, cy, r, squash, n, turn }) =>
        Array.from({ length: n }, (_, i) => [cx + r * Math.cos(turn + (2 * Math.PI * i) / n), cy + squash * r * Math.sin(turn + (2 * Math.PI * i) / n)]).flat(),
      );
    fc.assert(
      fc.property(convex, (poly) => {
        const mask = polygonsToRle([poly], 80, 100);
        const coco = buildCocoDataset({
          images: [image(1, 100, 80)],
          categories,
          annotations: [annotation(1, mask)],
          segmentation: 'polygon',
          includeScores: false,
        });
        const back = parseCocoDataset(viaJson(coco));
        const seg = back.annotations[0]!.segmentation;
        expect(Array.isArray(seg) && seg.length > 0).toBe(true);
        expect(iou(segmentationToRle(seg, 80, 100)!, mask)).toBeGreaterThanOrEqual(0.9);
      }),
      { numRuns: 200 },
    );
  });
});

describe.skipIf(!hasFixture)(hasFixture ? `importing the pycocotools strings in ${FIXTURE}` : `skipped: ${FIXTURE} is absent`, () => {
  it('keeps compressed strings, compresses plain counts to the same strings, and exports them unchanged', () => {
    const cases = readCocoapiCases();
    const json = {
      images: cases.map((c, i) => ({ id: i + 1, file_name: `${i}.jpg`, width: c.size[1], height: c.size[0] })),
      categories: [{ id: 1, name: 'thing' }],
      annotations: cases.flatMap((c, i) => [
        { id: 2 * i + 1, image_id: i + 1, category_id: 1, segmentation: { size: c.size, counts: c.counts } },
        { id: 2 * i + 2, image_id: i + 1, category_id: 1, segmentation: { size: c.size, counts: c.uncompressed_counts } },
      ]),
    };
    const coco = parseCocoDataset(json);
    const masks = coco.annotations.map((a) => {
      const img = coco.images.find((im) => im.id === a.image_id)!;
      return segmentationToRle(a.segmentation, img.height, img.width)!;
    });
    cases.forEach((c, i) => {
      expect(masks[2 * i]!.counts).toBe(c.counts);
      expect(masks[2 * i + 1]!.counts).toBe(c.counts);
      expect(coco.annotations[2 * i]!.bbox).toEqual(c.bbox);
      expect(coco.annotations[2 * i]!.area).toBe(c.area);
    });
    const exported = buildCocoDataset({
      images: coco.images.map((im) => image(im.id, im.width, im.height)),
      categories: [{ id: CategoryId(1), name: 'thing', color: '#000000' }],
      annotations: coco.annotations.map((a, i) => annotation(a.image_id, masks[i]!, { bbox: a.bbox })),
      segmentation: 'rle',
      includeScores: false,
    });
    expect(exported.annotations.map((a) => (a.segmentation as { counts: string }).counts)).toEqual(masks.map((m) => m.counts));
  });
});

const ORACLE = `
import contextlib, json, sys
from pycocotools.coco import COCO
with contextlib.redirect_stdout(sys.stderr):
    coco = COCO(sys.argv[1])
out = []
for ann in coco.dataset['annotations']:
    rle = coco.annToRLE(ann)
    out.append({'id': ann['id'], 'counts': rle['counts'].decode('ascii') if isinstance(rle['counts'], bytes) else rle['counts']})
json.dump(out, sys.stdout)
`;

const hasPython = existsSync(PYTHON);
describe.skipIf(!hasPython)(hasPython ? 'read by pycocotools' : `skipped: ${PYTHON} is missing (tools/model/setup-venv.sh makes it)`, () => {
  it('loads our RLE and polygon exports and makes the same masks of them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loupe-coco-'));
    try {
      const masks: BitMask[] = fc.sample(
        fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 3, max: 40 }), fc.integer({ min: 3, max: 30 })),
        { seed: 5, numRuns: 40 },
      ).map(([x, y, w, h]) => {
        const m = rect(64, 48, x, y, Math.min(w, 64 - x), Math.min(h, 48 - y));
        m.data[(y + 1) * 64 + x + 1] = 0;
        return m;
      });
      for (const form of ['rle', 'polygon'] as const) {
        const coco = buildCocoDataset({
          images: [image(1, 64, 48)],
          categories,
          annotations: masks.map((m) => annotation(1, encode(m))),
          segmentation: form,
          includeScores: false,
        });
        const file = join(dir, `${form}.json`);
        writeFileSync(file, JSON.stringify(coco));
        const theirs: { id: number; counts: string }[] = JSON.parse(execFileSync(PYTHON, ['-c', ORACLE, file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
        expect(theirs.map((t) => t.counts)).toEqual(coco.annotations.map((a) => segmentationToRle(a.segmentation, 48, 64)!.counts));
        if (form === 'rle') expect(theirs.map((t) => t.counts)).toEqual(masks.map((m) => encode(m).counts));
        else theirs.forEach((t, i) => expect(iou({ size: [48, 64], counts: t.counts }, encode(masks[i]!))).toBeGreaterThan(0.85));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});


