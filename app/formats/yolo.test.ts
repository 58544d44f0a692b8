import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { polygonsToRle } from '../geometry/polygon.js';
import { area, iou, merge, toBbox } from '../geometry/rle.js';
import { Problems } from './common.js';
import { CATEGORIES, generatedImage } from './exchange.test-support.js';
import { buildDataYaml, buildYoloLabels, joinPolygons, labelPathOf, readDataYaml, readYoloLabels, type YoloTask } from './yolo.js';

const classIndex = new Map(CATEGORIES.map((c, i) => [c.id, i]));
const names = new Map(CATEGORIES.map((c, i) => [i, c.name]));

function read(text: string, width: number, height: number) {
  const problems = new Problems();
  const instances = readYoloLabels(text, names, width, height, 'a.txt', problems);
  return { instances, problems: problems.list.map((p) => `${p.where}: ${p.reason}`) };
}

describe('YOLO round trip: read(write(x)) = x up to its limits', () => {
  // Limits: crowd regions are left out; a segmentation dataset holds polygons only (a box comes back as the mask
  // of its rectangle); coordinates are normalised and rounded to 6 decimals; masks come back as one polygon each
  // (parts joined by zero-width bridges), checked on export to keep IoU >= 0.95 with the mask (holes filled).
  it.each<YoloTask>(['segment', 'detect'])('%s: every object but crowd regions comes back with its class, box and mask', (task) => {
    fc.assert(
      fc.property(generatedImage(), (image) => {
        const labels = buildYoloLabels({ image, annotations: image.annotations, classIndex, task });
        const kept = image.annotations.filter((a) => !a.crowd);
        expect(labels.crowdLeftOut).toBe(image.annotations.length - kept.length);
        expect(labels.objects).toBe(kept.length);
        expect(labels.boxesAsPolygons).toBe(task === 'segment' ? kept.filter((a) => a.mask === null).length : 0);
        const back = read(labels.text, image.width, image.height);
        expect(back.problems).toEqual([]);
        expect(back.instances).toHaveLength(kept.length);
        kept.forEach((a, i) => {
          const b = back.instances[i]!;
          expect(b.label).toBe(names.get(classIndex.get(a.categoryId)!));
          expect(b.crowd).toBe(false);
          if (task === 'detect') {
            expect(b.mask).toBeNull();
            // 6 decimals of the side, at most 90 px here: within 1e-4 px.
            b.bbox.forEach((v, k) => expect(Math.abs(v - a.bbox[k]!)).toBeLessThan(1e-4));
          } else if (a.mask === null) {
            // The box's corners as written: normalised, to 6 decimals.
            const [x0, y0, x1, y1] = [a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]].map((v, k) => {
              const side = k % 2 === 0 ? image.width : image.height;
              return Number((v / side).toFixed(6)) * side;
            }) as [number, number, number, number];
            const rectangle = polygonsToRle([[x0, y0, x1, y0, x1, y1, x0, y1]], image.height, image.width);
            if (area(rectangle) > 0) expect(iou(b.mask!, rectangle)).toBe(1);
            // Too thin for a pixel: it comes back as the box.
            else b.bbox.forEach((v, k) => expect(Math.abs(v - a.bbox[k]!)).toBeLessThan(1e-4));
          } else {
            expect(iou(b.mask!, a.mask)).toBeGreaterThanOrEqual(0.95);
          }
        });
      }),
      { numRuns: 200 },
    );
  });

  it('joins the parts of a mask into one polygon whose even-odd fill is their union', () => {
    const parts = [
      [2, 2, 12, 2, 12, 12, 2, 12],
      [20, 3, 30, 3, 25, 13],
      [5, 20, 15, 20, 15, 28, 5, 28],
    ];
    const joined = joinPolygons(parts);
    expect(joined).toHaveLength(parts.flat().length + 2 * 2 * 2);
    expect(polygonsToRle([joined], 32, 40)).toEqual(merge(parts.map((p) => polygonsToRle([p], 32, 40))));
  });
});

describe('YOLO label files', () => {
  it('reads boxes and polygons in normalised coordinates (with or without a byte-order mark, LF or CRLF)', () => {
    const back = read('\uFEFF0 0.5 0.5 0.25 0.5\n\n2 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\r\n', 40, 20);
    expect(back.problems).toEqual([]);
    expect(back.instances[0]).toEqual({ label: 'cat', mask: null, bbox: [15, 5, 10, 10], crowd: false });
    expect(back.instances[1]!.label).toBe('tree');
    expect(toBbox(back.instances[1]!.mask!)).toEqual([4, 2, 8, 4]);
  });

  it('lists every malformed line with its number', () => {
    const back = read(['0 0.5 0.5 0.2', '7 0.5 0.5 0.1 0.1', '0 0.5 x 0.1 0.1', '1 0.5 0.5 1.5 0.1', '0 0.1 0.1 0.2 0.2 0.3', '1 0 0 0 0'].join('\n'), 40, 20);
    expect(back.problems).toEqual([
      "a.txt: line 1: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got 4 values",
      "a.txt: line 2: class 7 is not in data.yaml's names (3 classes)",
      'a.txt: line 3: "x" is not a number',
      'a.txt: line 4: coordinate 1.5 is not normalised to 0..1',
      "a.txt: line 5: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...', got 6 values",
      'a.txt: line 6: box has no area',
    ]);
  });

  it('finds labels where Ultralytics does: the last /images/ becomes /labels/', () => {
    expect(labelPathOf('data/images/train/a.b.jpg')).toBe('data/labels/train/a.b.txt');
    expect(labelPathOf('images/x/images/y.png')).toBe('images/x/labels/y.txt');
    expect(labelPathOf('photos/y.png')).toBe('photos/y.txt');
  });
});

describe('data.yaml', () => {
  const readYaml = (text: string) => {
    const problems = new Problems();
    const data = readDataYaml(text, 'data.yaml', problems);
    return { data, problems: problems.list.map((p) => `${p.where}: ${p.reason}`) };
  };

  it('reads names as a list or a mapping, splits as a path or a list, and the root path', () => {
    const list = readYaml('path: ../ds\ntrain: images/train\nval: [images/val, more.txt]\nnames: [cat, dog]\n');
    expect(list.problems).toEqual([]);
    expect(list.data).toEqual({
      names: new Map([[0, 'cat'], [1, 'dog']]),
      path: '../ds',
      splits: new Map([['train', ['images/train']], ['val', ['images/val', 'more.txt']]]),
    });
    const mapping = readYaml('train: images\nnames:\n  0: person\n  2: "traffic light"\n');
    expect(mapping.data?.names).toEqual(new Map([[0, 'person'], [2, 'traffic light']]));
    expect(mapping.data?.path).toBeNull();
  });

  it('lists every problem', () => {
    expect(readYaml('names: [cat, cat, 3]\nnc: 5\nkpt_shape: [17, 3]\n').problems).toEqual([
      'data.yaml: kpt_shape: is a pose (keypoint) dataset, which Loupe does not read',
      'data.yaml: names[2]: expected a class name, got 3',
      'data.yaml: names: "cat" is class 0 and class 1',
      'data.yaml: nc: is 5 but names has 2 classes',
      'data.yaml: names no images: none of train, val or test is given',
    ]);
    expect(readYaml('train: [1, 2]\n: :\n').problems[0]).toMatch(/^data\.yaml: malformed YAML: /);
  });

  it('writes a data.yaml that reads back (without path: the YAML folder is the root)', () => {
    const text = buildDataYaml({ names: ['cat', 'a "quoted": name'], train: 'images/train', val: 'images/val', comment: 'from Loupe\nsecond line' });
    expect(text.startsWith('# from Loupe\n# second line\n')).toBe(true);
    expect(parse(text)).toEqual({ train: 'images/train', val: 'images/val', nc: 2, names: { 0: 'cat', 1: 'a "quoted": name' } });
    expect(readYaml(text).data?.names).toEqual(new Map([[0, 'cat'], [1, 'a "quoted": name']]));
  });
});
