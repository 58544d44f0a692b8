import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CocoSegmentation } from '../formats/coco.js';
import { encode, toBbox, area as rleArea, toCounts, type BitMask } from '../geometry/rle.js';
import type { Bbox } from '../model/types.js';
import { cocoEvaluate, type CocoEvalInput, type CocoMetrics, type Detection, type GroundTruth, type IouType } from './cocoeval.js';

const PYTHON = fileURLToPath(new URL('../../tools/model/.venv/bin/python', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** mulberry32: a small seeded generator, so every case is the same on every run. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), pick: <T,>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

function rectangleMask(width: number, height: number, [x, y, w, h]: readonly number[]): BitMask {
  const data = new Uint8Array(width * height);
  for (let r = Math.max(0, y!); r < Math.min(height, y! + h!); r++) {
    for (let c = Math.max(0, x!); c < Math.min(width, x! + w!); c++) data[r * width + c] = 1;
  }
  return { width, height, data };
}

function ellipseMask(width: number, height: number, cx: number, cy: number, rx: number, ry: number): BitMask {
  const data = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) if (((c - cx) / rx) ** 2 + ((r - cy) / ry) ** 2 <= 1) data[r * width + c] = 1;
  }
  return { width, height, data };
}

interface CaseOptions {
  readonly images: number;
  readonly crowdChance: number;
  /** Detections of one class added to the first image, beyond COCOeval's 100 per image and class. */
  readonly pileUp: number;
  readonly falsePositives: number;
  readonly withDetections: boolean;
}

/**
 * Ground truth of rectangles, ellipses and polygons (compressed, plain RLE and polygons; crowd regions among them;
 * small, medium and large), categories of which one never has ground truth, and detections near the truth with
 * scores rounded to 2 decimals (so ties occur), some with the wrong class, plus false positives.
 */
function makeCase(seed: number, options: CaseOptions): CocoEvalInput {
  const rng = random(seed);
  const categories = [
    { id: 1, name: 'circle' },
    { id: 3, name: 'rectangle' },
    { id: 4, name: 'star' },
    { id: 9, name: 'never-annotated' },
  ];
  const annotated = [1, 3, 4];
  const images = Array.from({ length: options.images }, (_, i) => ({ id: 10 + i * 3, width: rng.int(60, 180), height: rng.int(50, 170) }));
  const annotations: GroundTruth[] = [];
  const detections: Detection[] = [];
  const score = () => Math.round(rng.next() * 100) / 100;
  const segment = (mask: BitMask, kind: number): CocoSegmentation => {
    const rle = encode(mask);
    if (kind === 0) return { size: [rle.size[0], rle.size[1]], counts: rle.counts };
    return { size: [rle.size[0], rle.size[1]], counts: toCounts(rle) };
  };
  for (const image of images) {
    const { width, height } = image;
    const objects = rng.int(0, 6);
    for (let o = 0; o < objects; o++) {
      const category = rng.pick(annotated);
      const w = rng.int(3, Math.min(width, 110));
      const h = rng.int(3, Math.min(height, 110));
      const box = [rng.int(0, width - w), rng.int(0, height - h), w, h] as const;
      const crowd = rng.next() < options.crowdChance;
      const shape = rng.int(0, 2);
      let segmentation: CocoSegmentation;
      let mask: BitMask;
      if (shape === 2 && !crowd) {
        const [x, y] = box;
        const polygon = [x + w / 2, y, x + w, y + h * 0.7, x + w * 0.6, y + h, x, y + h * 0.4].map((v) => v + rng.next() * 0.5);
        segmentation = [polygon];
        mask = { width, height, data: new Uint8Array(width * height) };
      } else {
        mask = shape === 0 ? rectangleMask(width, height, box) : ellipseMask(width, height, box[0] + w / 2, box[1] + h / 2, w / 2, h / 2);
        segmentation = segment(mask, crowd ? 1 : rng.int(0, 1));
      }
      const truthMask = Array.isArray(segmentation) ? null : encode(mask);
      const truthBox: Bbox = truthMask ? toBbox(truthMask) : [box[0], box[1], w, h];
      annotations.push({
        id: annotations.length + 1,
        image_id: image.id,
        category_id: category,
        bbox: truthBox,
        area: truthMask ? rleArea(truthMask) : w * h * 0.6,
        iscrowd: crowd ? 1 : 0,
        segmentation,
      });
      if (!options.withDetections) continue;
      for (let copies = crowd ? rng.int(1, 3) : rng.next() < 0.85 ? 1 : 0; copies > 0; copies--) {
        const dx = rng.int(-4, 4);
        const dy = rng.int(-4, 4);
        const moved = [box[0] + dx, box[1] + dy, Math.max(2, w + rng.int(-5, 5)), Math.max(2, h + rng.int(-5, 5))] as const;
        const detected = shape === 0 ? rectangleMask(width, height, moved) : ellipseMask(width, height, moved[0] + moved[2] / 2, moved[1] + moved[3] / 2, moved[2] / 2, moved[3] / 2);
        const rle = encode(detected);
        detections.push({
          image_id: image.id,
          category_id: rng.next() < 0.85 ? category : rng.pick(categories).id,
          score: score(),
          bbox: [moved[0] + rng.next(), moved[1] + rng.next(), moved[2], moved[3]],
          segmentation: { size: [rle.size[0], rle.size[1]], counts: rle.counts },
        });
      }
    }
    if (!options.withDetections) continue;
    for (let f = rng.int(0, options.falsePositives); f > 0; f--) {
      const w = rng.int(2, 40);
      const h = rng.int(2, 40);
      const box = [rng.int(0, width - 2), rng.int(0, height - 2), w, h] as const;
      const rle = encode(rectangleMask(width, height, box));
      detections.push({ image_id: image.id, category_id: rng.pick(categories).id, score: score(), bbox: [...box], segmentation: { size: [rle.size[0], rle.size[1]], counts: rle.counts } });
    }
  }
  if (options.withDetections && images.length > 0) {
    const { id, width, height } = images[0]!;
    for (let p = 0; p < options.pileUp; p++) {
      const box = [rng.int(0, width - 10), rng.int(0, height - 10), rng.int(5, 40), rng.int(5, 40)] as const;
      const rle = encode(rectangleMask(width, height, box));
      detections.push({ image_id: id, category_id: 3, score: score(), bbox: [...box], segmentation: { size: [rle.size[0], rle.size[1]], counts: rle.counts } });
    }
  }
  return { images, categories, annotations, detections };
}

const CASES: readonly { name: string; input: CocoEvalInput; threshold: number; minThreshold: number }[] = [
  { name: 'mixed shapes, crowd regions, a class never annotated', input: makeCase(1, { images: 24, crowdChance: 0.15, pileUp: 0, falsePositives: 3, withDetections: true }), threshold: 0.5, minThreshold: 0 },
  { name: 'many detections per image (250 on one image)', input: makeCase(2, { images: 6, crowdChance: 0.3, pileUp: 250, falsePositives: 30, withDetections: true }), threshold: 0.4, minThreshold: 0.2 },
  { name: 'sparse: images without truth or detections', input: makeCase(3, { images: 30, crowdChance: 0.05, pileUp: 0, falsePositives: 1, withDetections: true }), threshold: 0.7, minThreshold: 0.05 },
  { name: 'no detections at all', input: makeCase(4, { images: 8, crowdChance: 0.2, pileUp: 0, falsePositives: 0, withDetections: false }), threshold: 0.5, minThreshold: 0 },
];

/** Every number equal within 1e-4, every null and key the same. */
function expectClose(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    expect(Math.abs((actual as number) - expected), `${path}: ${String(actual)} vs ${expected}`).toBeLessThanOrEqual(1e-4);
    return;
  }
  if (expected === null || typeof expected !== 'object') {
    expect(actual, path).toEqual(expected);
    return;
  }
  expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
}

/** pycocotools through tools/model/metrics.py (what `python -m tools.model cocoeval` prints), one process for all. */
const ORACLE = `
import contextlib, io, json, sys
from pycocotools.coco import COCO
from tools.model.metrics import coco_metrics
out = []
for case in json.load(sys.stdin):
    gt = COCO()
    gt.dataset = case['gt']
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    out.append(coco_metrics(gt, case['dt'], case['iou_type'], threshold=case['threshold'],
                            min_threshold=case['min_threshold']))
json.dump(out, sys.stdout)
`;

const hasPython = existsSync(PYTHON);
describe.skipIf(!hasPython)(hasPython ? "equals pycocotools' COCOeval (tools/model/metrics.py)" : `skipped: ${PYTHON} is missing (tools/model/setup-venv.sh makes it)`, () => {
  const runs = CASES.flatMap((c) => (['bbox', 'segm'] as const).map((iouType) => ({ ...c, iouType })));
  let expected: CocoMetrics[] = [];
  beforeAll(() => {
    const request = runs.map(({ input, iouType, threshold, minThreshold }) => ({
      gt: { images: input.images, categories: input.categories, annotations: input.annotations },
      dt: input.detections,
      iou_type: iouType,
      threshold,
      min_threshold: minThreshold,
    }));
    const reply = execFileSync(PYTHON, ['-c', ORACLE], { cwd: REPO, input: JSON.stringify(request), maxBuffer: 1 << 28 });
    expected = JSON.parse(reply.toString()) as CocoMetrics[];
  });

  runs.forEach(({ name, input, iouType, threshold, minThreshold }, i) => {
    it(`${name}: ${iouType}`, () => {
      const actual = cocoEvaluate(input, { iouType, threshold, minThreshold });
      expectClose(actual, expected[i], iouType);
      // the cases exercise what they say they do
      expect(Object.values(expected[i]!.stats).some((v) => v !== null)).toBe(true);
      expect(expected[i]!.per_class['never-annotated']).toBeNull();
    });
  });
});

describe('COCO evaluation properties', () => {
  const anyCase = fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    images: fc.integer({ min: 1, max: 8 }),
    crowdChance: fc.constantFrom(0, 0.2),
    falsePositives: fc.integer({ min: 0, max: 4 }),
  }).map(({ seed, ...o }) => makeCase(seed, { ...o, pileUp: 0, withDetections: true }));

  it('scores detections that are the ground truth itself as perfect', () => {
    fc.assert(
      fc.property(anyCase, fc.constantFrom<IouType>('bbox', 'segm'), (input, iouType) => {
        const regular = input.annotations.filter((a) => !a.iscrowd);
        const detections = regular.map((a): Detection => ({ image_id: a.image_id, category_id: a.category_id, score: 0.9, bbox: a.bbox, segmentation: a.segmentation }));
        const m = cocoEvaluate({ ...input, detections }, { iouType });
        for (const [name, ap] of Object.entries(m.per_class)) {
          const instances = m.at_score.per_class[name]!.instances;
          // COCOeval's precision is TP / (TP + FP + 2^-52): a perfect class scores 1 to within a few ulps
          if (instances > 0) expect(ap).toBeCloseTo(1, 12);
          else expect(ap).toBeNull();
        }
        if (regular.length > 0) expect([m.at_score.precision, m.at_score.recall]).toEqual([1, 1]);
      }),
      { numRuns: 40 },
    );
  });

  it('does not depend on the order detections come in', () => {
    fc.assert(
      fc.property(anyCase, fc.integer(), (input, shuffleSeed) => {
        // distinct scores: COCOeval breaks ties by input order
        const distinct = input.detections.map((d, i) => ({ ...d, score: d.score / 2 + i * 1e-6 }));
        const rng = random(shuffleSeed);
        const shuffled = [...distinct].sort(() => rng.next() - 0.5);
        const a = cocoEvaluate({ ...input, detections: distinct }, { iouType: 'segm' });
        const b = cocoEvaluate({ ...input, detections: shuffled }, { iouType: 'segm' });
        expect(b).toEqual(a);
      }),
      { numRuns: 30 },
    );
  });

  it('loses recall as the threshold rises, and no threshold beats a class its own best F1', () => {
    fc.assert(
      fc.property(anyCase, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (input, t1, t2) => {
        const [lo, hi] = t1 < t2 ? [t1, t2] : [t2, t1];
        const low = cocoEvaluate(input, { iouType: 'bbox', threshold: lo, minThreshold: lo });
        const high = cocoEvaluate(input, { iouType: 'bbox', threshold: hi });
        for (const [name, figures] of Object.entries(low.at_score.per_class)) {
          expect(high.at_score.per_class[name]!.true_positives).toBeLessThanOrEqual(figures.true_positives);
          const best = low.suggested_score.per_class[name]?.best_f1;
          if (best !== undefined && best !== null) {
            expect(best).toBeGreaterThanOrEqual(figures.f1 ?? 0);
            expect(best).toBeGreaterThanOrEqual(high.at_score.per_class[name]!.f1 ?? 0);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
