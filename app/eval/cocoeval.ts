/**
 * COCO evaluation of instance detections (boxes or masks) against ground truth, computed as pycocotools' COCOeval
 * computes it (its default parameters: IoU 0.50:0.05:0.95, 101 recall points, 1/10/100 detections, the four area
 * ranges), plus the figures a person picks a score threshold by. Pure: the desktop app needs no Python for it.
 *
 * The result has the shape tools/model/metrics.py writes into model cards (snake_case, as there):
 * - `stats`: COCOeval's twelve summary figures; `AP`, `AP50`, `AP75` repeat the first three; `per_class` holds each
 *   class's AP (IoU 0.50:0.95, all areas, 100 detections). A figure COCOeval reports as -1 (nothing to average,
 *   e.g. a class without ground truth) is null.
 * - `at_score` and `suggested_score`: precision, recall and F1 at a score threshold, per class and over all classes
 *   (counts summed), and the threshold that maximises F1 over all classes. Both use COCOeval's own matching at IoU
 *   0.50 (area "all", at most 100 detections per image and class): a detection matched to an instance is a true
 *   positive, one matched to nothing a false positive, one matched to a crowd region neither; recall counts the
 *   instances that are not crowd regions. Matching runs greedily from the highest score down, so the matches above
 *   a threshold do not depend on the detections below it. precision = TP / (TP + FP), recall = TP / N,
 *   F1 = 2 TP / (TP + FP + N), each null where its denominator is 0. The suggested threshold is the best detection
 *   score rounded down to 3 decimals (its figures are taken there), never below `minThreshold`.
 *
 * One deliberate difference: pycocotools marks matches with annotation ids, so a ground-truth annotation with id 0
 * can never be matched there; here it can.
 */
import { segmentationToRle, type CocoSegmentation } from '../formats/coco.js';
import { area as rleArea, iouOfCounts, toBbox, toCounts } from '../geometry/rle.js';
import type { Bbox } from '../model/types.js';

export type IouType = 'bbox' | 'segm';

export interface EvalImage {
  readonly id: number;
  readonly width: number;
  readonly height: number;
}

export interface EvalCategory {
  readonly id: number;
  readonly name: string;
}

/** A ground-truth annotation in COCO's spelling; area defaults to the mask's (segm) or the box's (bbox). */
export interface GroundTruth {
  readonly id: number;
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: Bbox;
  readonly area?: number;
  readonly iscrowd?: number | boolean;
  readonly segmentation?: CocoSegmentation;
}

/** A detection in COCO's result spelling: a box (bbox) or a mask (segm; RLE or polygons), and a score. */
export interface Detection {
  readonly image_id: number;
  readonly category_id: number;
  readonly score: number;
  readonly bbox?: Bbox;
  readonly segmentation?: CocoSegmentation;
}

export interface CocoEvalInput {
  readonly images: readonly EvalImage[];
  readonly categories: readonly EvalCategory[];
  readonly annotations: readonly GroundTruth[];
  readonly detections: readonly Detection[];
}

export interface CocoEvalOptions {
  readonly iouType: IouType;
  /** Images and categories scored; all of the input's by default. */
  readonly imageIds?: readonly number[];
  readonly categoryIds?: readonly number[];
  /** Where `at_score` is taken (default 0.5). */
  readonly threshold?: number;
  /** The lowest score `suggested_score` may pick (default 0): a graph that drops detections below some score
   *  cannot run at a lower threshold. */
  readonly minThreshold?: number;
}

export const STAT_NAMES = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'] as const;
export type StatName = (typeof STAT_NAMES)[number];

export interface Figures {
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly true_positives: number;
  readonly false_positives: number;
  readonly instances: number;
}

export interface ClassFigures extends Figures {
  /** suggested_score only: this class's own F1-maximising threshold (unrounded) and its F1. */
  readonly best_score?: number | null;
  readonly best_f1?: number | null;
}

export interface OperatingPoint extends Figures {
  readonly score: number | null;
  readonly iou: number;
  readonly per_class: Readonly<Record<string, ClassFigures>>;
  /** suggested_score only. */
  readonly min_score?: number;
}

export interface CocoMetrics {
  readonly AP: number | null;
  readonly AP50: number | null;
  readonly AP75: number | null;
  readonly per_class: Readonly<Record<string, number | null>>;
  readonly stats: Readonly<Record<StatName, number | null>>;
  readonly at_score: OperatingPoint;
  readonly suggested_score: OperatingPoint;
}

export class CocoEvalError extends Error {
  override readonly name = 'CocoEvalError';
}

/** np.linspace(start, stop, num) to the last bit: i * step + start, the last value stop itself. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const values = Array.from({ length: num }, (_, i) => i * step + start);
  values[num - 1] = stop;
  return values;
}

const IOU_THRESHOLDS = linspace(0.5, 0.95, 10);
const RECALL_THRESHOLDS = linspace(0, 1, 101);
const MAX_DETECTIONS = [1, 10, 100];
const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e10],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e10],
];
const AREA_LABELS = ['all', 'small', 'medium', 'large'] as const;
const MATCH_IOU = 0.5;
const SPACING = 2 ** -52; // np.spacing(1)

/** A ground truth or detection prepared for matching: its box, area, crowd flag and (segm) mask runs. */
interface Region {
  readonly bbox: Bbox;
  readonly area: number;
  readonly crowd: boolean;
  readonly counts: readonly number[] | null;
  readonly score: number;
}

/** Per image and class: detections sorted by score (at most 100) and ground truth in input order. */
interface Cell {
  readonly detections: readonly Region[];
  readonly truths: readonly Region[];
  /** ious[d][g] */
  readonly ious: readonly (readonly number[])[];
}

/** evaluateImg's result for one class, area range and image. */
interface ImageResult {
  readonly scores: readonly number[];
  /** [threshold][detection] */
  readonly matched: readonly Uint8Array[];
  readonly ignored: readonly Uint8Array[];
  readonly truthIgnored: Uint8Array;
}

export function cocoEvaluate(input: CocoEvalInput, options: CocoEvalOptions): CocoMetrics {
  const { iouType } = options;
  const imageIds = sortedUnique(options.imageIds ?? input.images.map((i) => i.id));
  const categoryIds = sortedUnique(options.categoryIds ?? input.categories.map((c) => c.id));
  const images = new Map(input.images.map((i) => [i.id, i]));
  const names = new Map(input.categories.map((c) => [c.id, c.name]));
  for (const d of input.detections) {
    if (!images.has(d.image_id)) throw new CocoEvalError(`a detection names image ${d.image_id}, which is not in the ground truth`);
  }
  for (const id of categoryIds) if (!names.has(id)) throw new CocoEvalError(`category ${id} is not in the ground truth`);

  const cells = prepare(input, iouType, images, new Set(imageIds), new Set(categoryIds));
  const cell = (imageId: number, categoryId: number) => cells.get(`${imageId} ${categoryId}`);
  const results: (ImageResult | null)[] = [];
  for (const categoryId of categoryIds) {
    for (const range of AREA_RANGES) {
      for (const imageId of imageIds) results.push(evaluateImage(cell(imageId, categoryId), range));
    }
  }
  const { precision, recall } = accumulate(results, categoryIds.length, imageIds.length);
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const K = categoryIds.length;
  const A = AREA_RANGES.length;
  const M = MAX_DETECTIONS.length;

  const summarize = (ap: boolean, iouThreshold: number | null, area: (typeof AREA_LABELS)[number], maxDetections: number) => {
    const t = iouThreshold === null ? null : IOU_THRESHOLDS.indexOf(iouThreshold);
    const a = AREA_LABELS.indexOf(area);
    const m = MAX_DETECTIONS.indexOf(maxDetections);
    let sum = 0;
    let count = 0;
    for (let ti = 0; ti < T; ti++) {
      if (t !== null && ti !== t) continue;
      for (let k = 0; k < K; k++) {
        if (ap) {
          for (let r = 0; r < R; r++) {
            const v = precision[(((ti * R + r) * K + k) * A + a) * M + m]!;
            if (v > -1) {
              sum += v;
              count++;
            }
          }
        } else {
          const v = recall[((ti * K + k) * A + a) * M + m]!;
          if (v > -1) {
            sum += v;
            count++;
          }
        }
      }
    }
    return count === 0 ? null : sum / count;
  };
  const stats: Record<StatName, number | null> = {
    AP: summarize(true, null, 'all', 100),
    AP50: summarize(true, 0.5, 'all', 100),
    AP75: summarize(true, 0.75, 'all', 100),
    APs: summarize(true, null, 'small', 100),
    APm: summarize(true, null, 'medium', 100),
    APl: summarize(true, null, 'large', 100),
    AR1: summarize(false, null, 'all', 1),
    AR10: summarize(false, null, 'all', 10),
    AR100: summarize(false, null, 'all', 100),
    ARs: summarize(false, null, 'small', 100),
    ARm: summarize(false, null, 'medium', 100),
    ARl: summarize(false, null, 'large', 100),
  };
  const perClass: Record<string, number | null> = {};
  categoryIds.forEach((id, k) => {
    let sum = 0;
    let count = 0;
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < R; r++) {
        const v = precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)]!;
        if (v > -1) {
          sum += v;
          count++;
        }
      }
    }
    perClass[names.get(id)!] = count === 0 ? null : sum / count;
  });
  const matches = classMatches(results, categoryIds, names, imageIds.length);
  return {
    AP: stats.AP,
    AP50: stats.AP50,
    AP75: stats.AP75,
    per_class: perClass,
    stats,
    at_score: atScore(matches, options.threshold ?? 0.5),
    suggested_score: suggestedScore(matches, options.minThreshold ?? 0),
  };
}

function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** Stable order of indices by score, highest first (numpy's mergesort of -score). */
function byScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
}

function prepare(
  input: CocoEvalInput,
  iouType: IouType,
  images: ReadonlyMap<number, EvalImage>,
  imageIds: ReadonlySet<number>,
  categoryIds: ReadonlySet<number>,
): Map<string, Cell> {
  const maskOf = (seg: CocoSegmentation | undefined, image: EvalImage, what: string) => {
    const rle = seg === undefined ? null : segmentationToRle(seg, image.height, image.width);
    if (rle === null) throw new CocoEvalError(`${what} on image ${image.id} has no mask to score`);
    return rle;
  };
  const groups = new Map<string, { truths: Region[]; detections: Region[] }>();
  const group = (imageId: number, categoryId: number) => {
    const key = `${imageId} ${categoryId}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { truths: [], detections: [] }));
    return g;
  };
  for (const gt of input.annotations) {
    if (!imageIds.has(gt.image_id) || !categoryIds.has(gt.category_id)) continue;
    const image = images.get(gt.image_id);
    if (image === undefined) throw new CocoEvalError(`annotation ${gt.id} names image ${gt.image_id}, which is not listed`);
    const mask = iouType === 'segm' ? maskOf(gt.segmentation, image, `annotation ${gt.id}`) : null;
    const area = gt.area ?? (mask ? rleArea(mask) : gt.bbox[2] * gt.bbox[3]);
    group(gt.image_id, gt.category_id).truths.push({
      bbox: mask ? toBbox(mask) : gt.bbox,
      area,
      crowd: Boolean(gt.iscrowd),
      counts: mask ? toCounts(mask) : null,
      score: 0,
    });
  }
  for (const dt of input.detections) {
    if (!imageIds.has(dt.image_id) || !categoryIds.has(dt.category_id)) continue;
    const image = images.get(dt.image_id)!;
    if (iouType === 'segm') {
      const mask = maskOf(dt.segmentation, image, 'a detection');
      group(dt.image_id, dt.category_id).detections.push({
        bbox: toBbox(mask),
        area: rleArea(mask),
        crowd: false,
        counts: toCounts(mask),
        score: dt.score,
      });
    } else {
      // As pycocotools' loadRes: a box's area is w x h; a detection given only as a mask takes box and area from it.
      const mask = dt.bbox ? null : maskOf(dt.segmentation, image, 'a detection without a box');
      const bbox = dt.bbox ?? toBbox(mask!);
      const area = mask ? rleArea(mask) : bbox[2] * bbox[3];
      group(dt.image_id, dt.category_id).detections.push({ bbox, area, crowd: false, counts: null, score: dt.score });
    }
  }
  const cells = new Map<string, Cell>();
  for (const [key, { truths, detections }] of groups) {
    const sorted = byScore(detections.map((d) => d.score))
      .slice(0, MAX_DETECTIONS[MAX_DETECTIONS.length - 1])
      .map((i) => detections[i]!);
    const ious = sorted.map((d) => truths.map((g) => (iouType === 'segm' ? maskIou(d, g) : boxIou(d.bbox, g.bbox, g.crowd))));
    cells.set(key, { detections: sorted, truths, ious });
  }
  return cells;
}

/** cocoapi's bbIou for one pair, operation for operation (boxes [x, y, w, h]). */
function boxIou(d: Bbox, g: Bbox, crowd: boolean): number {
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const u = crowd ? d[2] * d[3] : d[2] * d[3] + g[2] * g[3] - i;
  return i / u;
}

/** cocoapi's rleIou for one pair: masks whose boxes do not overlap are not walked. */
function maskIou(d: Region, g: Region): number {
  if (boxIou(d.bbox, g.bbox, g.crowd) <= 0) return 0;
  return iouOfCounts(d.counts!, g.counts!, g.crowd);
}

/** evaluateImg: greedy matching at every IoU threshold for one image, class and area range. */
function evaluateImage(cell: Cell | undefined, [lo, hi]: readonly [number, number]): ImageResult | null {
  if (cell === undefined || (cell.truths.length === 0 && cell.detections.length === 0)) return null;
  const outside = (area: number) => area < lo || area > hi;
  const truthIgnoredInInput = cell.truths.map((g) => g.crowd || outside(g.area));
  // regular ground truth first, ignored last, each in input order
  const order = cell.truths.map((_, i) => i).sort((a, b) => Number(truthIgnoredInInput[a]) - Number(truthIgnoredInInput[b]));
  const truths = order.map((i) => cell.truths[i]!);
  const truthIgnored = Uint8Array.from(order, (i) => Number(truthIgnoredInInput[i]));
  const detections = cell.detections;
  const D = detections.length;
  const G = truths.length;
  const matched: Uint8Array[] = [];
  const ignored: Uint8Array[] = [];
  for (const threshold of IOU_THRESHOLDS) {
    const dtMatched = new Uint8Array(D);
    const dtIgnored = new Uint8Array(D);
    const gtMatched = new Uint8Array(G);
    if (G > 0 && D > 0) {
      for (let d = 0; d < D; d++) {
        let best = Math.min(threshold, 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          if (gtMatched[g] && !truths[g]!.crowd) continue;
          if (m > -1 && !truthIgnored[m] && truthIgnored[g]) break;
          const iou = cell.ious[d]![order[g]!]!;
          if (iou < best) continue;
          best = iou;
          m = g;
        }
        if (m === -1) continue;
        dtIgnored[d] = truthIgnored[m]!;
        dtMatched[d] = 1;
        gtMatched[m] = 1;
      }
    }
    for (let d = 0; d < D; d++) if (!dtMatched[d] && outside(detections[d]!.area)) dtIgnored[d] = 1;
    matched.push(dtMatched);
    ignored.push(dtIgnored);
  }
  return { scores: detections.map((d) => d.score), matched, ignored, truthIgnored };
}

/** accumulate: precision [T][R][K][A][M] and recall [T][K][A][M], -1 where a class has no ground truth. */
function accumulate(results: readonly (ImageResult | null)[], K: number, I: number) {
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const A = AREA_RANGES.length;
  const M = MAX_DETECTIONS.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E = results.slice((k * A + a) * I, (k * A + a + 1) * I).filter((e): e is ImageResult => e !== null);
      if (E.length === 0) continue;
      let instances = 0;
      for (const e of E) for (const ig of e.truthIgnored) if (!ig) instances++;
      for (let m = 0; m < M; m++) {
        const maxDet = MAX_DETECTIONS[m]!;
        const scores: number[] = [];
        const at: { e: ImageResult; d: number }[] = [];
        for (const e of E) {
          for (let d = 0; d < Math.min(maxDet, e.scores.length); d++) {
            scores.push(e.scores[d]!);
            at.push({ e, d });
          }
        }
        if (instances === 0) continue;
        const order = byScore(scores);
        const nd = order.length;
        for (let t = 0; t < T; t++) {
          const rc = new Float64Array(nd);
          const pr = new Float64Array(nd);
          let tp = 0;
          let fp = 0;
          order.forEach((j, n) => {
            const { e, d } = at[j]!;
            if (!e.ignored[t]![d]) {
              if (e.matched[t]![d]) tp++;
              else fp++;
            }
            rc[n] = tp / instances;
            pr[n] = tp / (fp + tp + SPACING);
          });
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1]! : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
          let pi = 0;
          for (let r = 0; r < R; r++) {
            while (pi < nd && rc[pi]! < RECALL_THRESHOLDS[r]!) pi++;
            precision[(((t * R + r) * K + k) * A + a) * M + m] = pi < nd ? pr[pi]! : 0;
          }
        }
      }
    }
  }
  return { precision, recall };
}

interface ClassMatches {
  /** Scores of the detections that count (not matched to a crowd region), highest first. */
  readonly scores: number[];
  readonly matched: boolean[];
  /** Instances that count (not crowd regions). */
  readonly instances: number;
}

function classMatches(
  results: readonly (ImageResult | null)[],
  categoryIds: readonly number[],
  names: ReadonlyMap<number, string>,
  I: number,
): Map<string, ClassMatches> {
  const t = IOU_THRESHOLDS.indexOf(MATCH_IOU);
  const a = AREA_LABELS.indexOf('all');
  const A = AREA_RANGES.length;
  const out = new Map<string, ClassMatches>();
  categoryIds.forEach((id, k) => {
    const scores: number[] = [];
    const matched: boolean[] = [];
    let instances = 0;
    for (let i = 0; i < I; i++) {
      const e = results[(k * A + a) * I + i];
      if (!e) continue;
      e.scores.forEach((score, d) => {
        if (e.ignored[t]![d]) return;
        scores.push(score);
        matched.push(e.matched[t]![d] === 1);
      });
      for (const ig of e.truthIgnored) if (!ig) instances++;
    }
    const order = byScore(scores);
    out.set(names.get(id)!, { scores: order.map((i) => scores[i]!), matched: order.map((i) => matched[i]!), instances });
  });
  return out;
}

function figures(tp: number, fp: number, instances: number): Figures {
  return {
    precision: tp + fp ? tp / (tp + fp) : null,
    recall: instances ? tp / instances : null,
    f1: tp + fp + instances ? (2 * tp) / (tp + fp + instances) : null,
    true_positives: tp,
    false_positives: fp,
    instances,
  };
}

function atScore(matches: ReadonlyMap<string, ClassMatches>, threshold: number): OperatingPoint {
  const perClass: Record<string, ClassFigures> = {};
  let tpAll = 0;
  let fpAll = 0;
  let nAll = 0;
  for (const [name, { scores, matched, instances }] of matches) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => {
      if (s < threshold) return;
      if (matched[i]) tp++;
      else fp++;
    });
    perClass[name] = figures(tp, fp, instances);
    tpAll += tp;
    fpAll += fp;
    nAll += instances;
  }
  return { score: threshold, iou: MATCH_IOU, ...figures(tpAll, fpAll, nAll), per_class: perClass };
}

/** [score, F1] of the threshold (a detection's score, at least minThreshold) with the highest F1, the highest
 *  such score on a tie; null when no detection scores minThreshold or more. Scores are sorted highest first. */
function bestThreshold(scores: readonly number[], matched: readonly boolean[], instances: number, minThreshold: number) {
  let best: [number, number] | null = null;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < scores.length; i++) {
    if (matched[i]) tp++;
    else fp++;
    if (i + 1 < scores.length && scores[i + 1] === scores[i]) continue;
    if (scores[i]! < minThreshold) break;
    const f1 = (2 * tp) / (tp + fp + instances);
    if (best === null || f1 > best[1]) best = [scores[i]!, f1];
  }
  return best;
}

function suggestedScore(matches: ReadonlyMap<string, ClassMatches>, minThreshold: number): OperatingPoint {
  const pooled = [...matches.values()].flatMap((m) => m.scores.map((score, i) => ({ score, matched: m.matched[i]! })));
  const order = byScore(pooled.map((p) => p.score));
  const instances = [...matches.values()].reduce((n, m) => n + m.instances, 0);
  const best = bestThreshold(
    order.map((i) => pooled[i]!.score),
    order.map((i) => pooled[i]!.matched),
    instances,
    minThreshold,
  );
  if (best === null) {
    return { score: null, iou: MATCH_IOU, ...figures(0, 0, instances), per_class: {}, min_score: minThreshold };
  }
  const point = atScore(matches, Math.max(minThreshold, Math.floor(best[0] * 1000) / 1000));
  const perClass: Record<string, ClassFigures> = {};
  for (const [name, m] of matches) {
    const own = bestThreshold(m.scores, m.matched, m.instances, minThreshold);
    perClass[name] = { ...point.per_class[name]!, best_score: own ? own[0] : null, best_f1: own ? own[1] : null };
  }
  return { ...point, per_class: perClass, min_score: minThreshold };
}
