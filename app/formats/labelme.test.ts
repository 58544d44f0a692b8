import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { polygonsToRle } from '../geometry/polygon.js';
import { area, encode, iou, toBbox } from '../geometry/rle.js';
import { Problems, type ImportedInstance } from './common.js';
import { CATEGORY_NAMES, generatedImage, type GeneratedImage } from './exchange.test-support.js';
import { buildLabelmeFile, labelmeInstances, readLabelmeFile, type LabelmeFile } from './labelme.js';
import { encodePngMask, toBase64 } from './png.js';

/** Through JSON text and back, as a file would be. */
function roundTrip(image: GeneratedImage) {
  const exported = buildLabelmeFile({ image, imagePath: 'img.png', annotations: image.annotations, categoryNames: CATEGORY_NAMES });
  const problems = new Problems();
  const file = readLabelmeFile(JSON.parse(JSON.stringify(exported.file)), 'img.json', problems);
  expect(problems.list).toEqual([]);
  const read = labelmeInstances(file!, image.width, image.height, 'img.json', problems);
  expect(problems.list).toEqual([]);
  return { exported, read };
}

function readOne(json: unknown, width = 40, height = 30): { instances: ImportedInstance[]; skipped: Record<string, number>; problems: string[] } {
  const problems = new Problems();
  const file = readLabelmeFile(json, 'a.json', problems);
  const read = file ? labelmeInstances(file, width, height, 'a.json', problems) : { instances: [], skipped: {} };
  return { ...read, problems: problems.list.map((p) => `${p.where}: ${p.reason}`) };
}

const labelme = (shapes: unknown[], extra: Record<string, unknown> = {}) => ({
  version: '5.4.1',
  flags: {},
  shapes,
  imagePath: 'a.jpg',
  imageData: null,
  imageHeight: 30,
  imageWidth: 40,
  ...extra,
});
const shape = (fields: Record<string, unknown>) => ({ label: 'cat', group_id: null, shape_type: 'polygon', flags: {}, description: '', ...fields });

describe('LabelMe round trip: read(write(x)) = x up to its limits', () => {
  // Limits: masks come back as their polygons' rasterisation, which export checks after rounding to keep IoU
  // >= 0.95 with the mask (holes filled; the generated masks have none); boxes to 1/100 pixel.
  it('keeps every instance, its class, crowd flag, box (to 0.01 px) and mask (IoU >= 0.95)', () => {
    fc.assert(
      fc.property(generatedImage(), (image) => {
        const { exported, read } = roundTrip(image);
        expect(exported.withHoles).toBe(0);
        expect(read.skipped).toEqual({});
        expect(read.instances).toHaveLength(image.annotations.length);
        image.annotations.forEach((a, i) => {
          const back = read.instances[i]!;
          expect(back.label).toBe(CATEGORY_NAMES.get(a.categoryId));
          expect(back.crowd).toBe(a.crowd ?? false);
          if (a.mask === null) {
            expect(back.mask).toBeNull();
            back.bbox.forEach((v, k) => expect(Math.abs(v - a.bbox[k]!)).toBeLessThanOrEqual(0.005 + 1e-9));
          } else {
            expect(iou(back.mask!, a.mask)).toBeGreaterThanOrEqual(0.95);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('writes coordinates with at most 2 decimals and numbers parts of one mask with one group_id', () => {
    fc.assert(
      fc.property(generatedImage(), (image) => {
        const { exported } = roundTrip(image);
        for (const s of exported.file.shapes) for (const v of s.points.flat()) expect(Math.abs(v * 100 - Math.round(v * 100))).toBeLessThan(1e-6);
        const text = JSON.stringify(exported.file);
        expect(text).not.toMatch(/\d\.\d{3,}/);
      }),
      { numRuns: 100 },
    );
  });

  it('counts masks with holes, whose polygons fill them', () => {
    const ring = polygonsToRle([[5, 5, 35, 5, 35, 25, 5, 25]], 30, 40);
    const data = new Uint8Array(40 * 30);
    for (let y = 5; y < 25; y++) for (let x = 5; x < 35; x++) data[y * 40 + x] = x < 12 || x >= 28 || y < 10 || y >= 20 ? 1 : 0;
    const holed = encode({ width: 40, height: 30, data });
    const image = {
      width: 40,
      height: 30,
      annotations: [
        { id: 'a', imageId: 1, categoryId: 1, bbox: toBbox(holed), mask: holed, score: null, origin: 'human', modelId: null, state: 'accepted' },
      ],
    } as unknown as GeneratedImage;
    const { exported, read } = roundTrip(image);
    expect(exported.withHoles).toBe(1);
    expect(exported.file.shapes).toHaveLength(1);
    expect(iou(read.instances[0]!.mask!, ring)).toBe(1);
  });
});

describe('LabelMe reading', () => {
  it('reads polygons, rectangles (2 or 4 points) and circles; skips and counts points and lines', () => {
    const read = readOne(
      labelme([
        shape({ points: [[1, 1], [11, 1], [11, 11], [1, 11]] }),
        shape({ label: 'box', shape_type: 'rectangle', points: [[30.5, 20.25], [20, 10]] }),
        shape({ label: 'box', shape_type: 'rectangle', points: [[0, 0], [4, 0], [4, 3], [0, 3]] }),
        shape({ label: 'ball', shape_type: 'circle', points: [[20, 15], [25, 15]] }),
        shape({ shape_type: 'point', points: [[3, 3]] }),
        shape({ shape_type: 'line', points: [[3, 3], [5, 5]] }),
        shape({ shape_type: 'linestrip', points: [[3, 3], [5, 5], [6, 9]] }),
        shape({ shape_type: 'cuboid', points: [[3, 3], [5, 5], [6, 9]] }),
      ]),
    );
    expect(read.problems).toEqual([]);
    expect(read.skipped).toEqual({ point: 1, line: 1, linestrip: 1, cuboid: 1 });
    const [square, box, smallBox, circle] = read.instances;
    expect(square).toMatchObject({ label: 'cat', crowd: false, bbox: [1, 1, 10, 10] });
    expect(area(square!.mask!)).toBe(100);
    expect(box).toEqual({ label: 'box', crowd: false, mask: null, bbox: [20, 10, 10.5, 10.25] });
    expect(smallBox).toEqual({ label: 'box', crowd: false, mask: null, bbox: [0, 0, 4, 3] });
    expect(circle!.label).toBe('ball');
    // A circle of radius 5: pi r^2 = 78.5 pixels.
    expect(Math.abs(area(circle!.mask!) - Math.PI * 25)).toBeLessThan(6);
  });

  it('joins shapes of one label and group_id into one instance; the same group_id under another label is another', () => {
    const read = readOne(
      labelme([
        shape({ group_id: 3, points: [[1, 1], [5, 1], [5, 5], [1, 5]] }),
        shape({ label: 'dog', group_id: 3, points: [[10, 1], [15, 1], [15, 5]] }),
        shape({ group_id: 3, points: [[20, 20], [24, 20], [24, 24], [20, 24]] }),
        shape({ group_id: 3, shape_type: 'rectangle', points: [[30, 1], [32, 3]] }),
      ]),
    );
    expect(read.problems).toEqual([]);
    expect(read.instances.map((i) => i.label)).toEqual(['cat', 'dog']);
    // Two 4 x 4 squares and a 2 x 2 rectangle (a mask when joined with masks).
    expect(area(read.instances[0]!.mask!)).toBe(16 + 16 + 4);
    expect(read.instances[0]!.bbox).toEqual([1, 1, 31, 23]);
  });

  it('turns __ignore__ regions into crowd regions, of the class their description names', () => {
    const read = readOne(
      labelme([
        shape({ label: '__ignore__', points: [[1, 1], [5, 1], [5, 5]] }),
        shape({ label: '__ignore__', description: 'crowd: person', points: [[1, 1], [5, 1], [5, 5]] }),
      ]),
    );
    expect(read.instances.map(({ label, crowd }) => ({ label, crowd }))).toEqual([
      { label: '__ignore__', crowd: true },
      { label: 'person', crowd: true },
    ]);
  });

  it('reads mask shapes (LabelMe 5.3+): a PNG over the box of its two points', () => {
    const crop = { width: 4, height: 3, data: new Uint8Array([1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1]) };
    const read = readOne(labelme([shape({ shape_type: 'mask', points: [[10, 20], [13, 22]], mask: toBase64(encodePngMask(crop)) })]));
    expect(read.problems).toEqual([]);
    expect(area(read.instances[0]!.mask!)).toBe(8);
    expect(read.instances[0]!.bbox).toEqual([10, 20, 4, 3]);
  });

  it('accepts LabelMe 3 files (no shape_type, no image size), nulls and unknown fields', () => {
    const read = readOne({
      version: null,
      flags: null,
      lineColor: [0, 255, 0, 128],
      shapes: [{ label: 'cat', points: [[1, 1], [5, 1], [5, 5]], line_color: null, fill_color: null, group_id: null, other: 1 }],
      imagePath: 'a.jpg',
      imageData: null,
    });
    expect(read.problems).toEqual([]);
    expect(read.instances).toHaveLength(1);
  });

  it('lists every problem, each with the file and the shape', () => {
    const read = readOne(
      labelme([
        shape({ points: [[1, 1], [5, 1]] }),
        shape({ shape_type: 'rectangle', points: [[50, 40], [60, 45]] }),
        shape({ shape_type: 'circle', points: [[1, 1]] }),
        shape({ points: [[100, 100], [120, 100], [120, 120]] }),
        shape({ shape_type: 'mask', points: [[0, 0], [5, 5]], mask: 'not base64 at all!' }),
      ]),
    );
    expect(read.problems).toEqual([
      'a.json: shapes[0]: a polygon needs at least 3 points, has 2',
      'a.json: shapes[1]: rectangle has no area inside the 40 x 30 image',
      'a.json: shapes[2]: a circle needs 2 points (centre and one on the circle), has 1',
      'a.json: shapes[4].mask: is not a base64 PNG (invalid base64 character "!")',
      'a.json: shapes[3]: covers no pixel of the 40 x 30 image',
    ]);
    const malformed = readOne({ shapes: [{ label: 3, points: [[1, 'x']] }], imageHeight: -1 });
    expect(malformed.problems).toEqual([
      expect.stringMatching(/^a\.json: shapes\[0\]\.label: /),
      expect.stringMatching(/^a\.json: shapes\[0\]\.points\[0\]\[1\]: /),
      expect.stringMatching(/^a\.json: imagePath: /),
      expect.stringMatching(/^a\.json: imageHeight: /),
    ]);
  });

  it('writes what LabelMe reads: version, shapes with every key, imagePath, no imageData, the image size', () => {
    const mask = polygonsToRle([[2, 2, 10, 2, 10, 10]], 30, 40);
    const { file } = buildLabelmeFile({
      image: { width: 40, height: 30 },
      imagePath: '../photos/a.jpg',
      annotations: [
        { id: 'a', imageId: 1, categoryId: 1, bbox: toBbox(mask), mask, score: 0.9, origin: 'model', modelId: 1, state: 'accepted' },
        { id: 'b', imageId: 1, categoryId: 4, bbox: [1.006, 2, 3, 4], mask: null, score: null, origin: 'human', modelId: null, state: 'accepted', crowd: true },
      ] as never,
      categoryNames: CATEGORY_NAMES,
    });
    expect(file).toMatchObject<Partial<LabelmeFile>>({ version: '5.4.1', imagePath: '../photos/a.jpg', imageData: null, imageHeight: 30, imageWidth: 40, flags: {} });
    expect(Object.keys(file.shapes[0]!).sort()).toEqual(['description', 'flags', 'group_id', 'label', 'mask', 'points', 'shape_type']);
    expect(file.shapes[1]).toEqual({
      label: '__ignore__',
      description: 'crowd: dog & "friends" <3>',
      shape_type: 'rectangle',
      group_id: null,
      flags: {},
      mask: null,
      points: [[1.01, 2], [4.01, 6]],
    });
  });
});
