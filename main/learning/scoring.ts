// A model scored on reviewed images: it runs on each image in the inference worker pool (the same decode, model and
// post-processing as pre-labeling, never stored predictions), and its detections are scored against the reviewed
// truth with app/eval's COCOeval, boxes and masks, as pycocotools would score them.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { cocoEvaluate, type CocoEvalInput, type CocoMetrics, type Detection as EvalDetection, type GroundTruth } from '../../app/eval/cocoeval.js';
import { area as rleArea } from '../../app/geometry/rle.js';
import { isTruth } from '../../app/review/index.js';
import type { Annotation, Category, ImageId, ImageRecord, Rle } from '../../app/model/index.js';
import type { WorkerPort } from '../inference/client.js';
import { InferencePool } from '../inference/pool.js';
import type { Detection } from '../inference/postprocess.js';
import type { ProviderChoice } from '../inference/providers.js';
import type { ModelInfo } from '../inference/protocol.js';
import type { ProjectStore } from '../store/index.js';
import { heldOutKeys, splitKey } from './split.js';

export type Split = 'heldout' | 'all';

/** Reviewed images a model can be scored on: present, in the split (split.ts; the same as training's). */
export function reviewedImages(store: ProjectStore, split: Split, seed?: number): ImageRecord[] {
  const images: ImageRecord[] = [];
  let after: string | null = null;
  do {
    const page = store.images.list({ status: 'reviewed', after, limit: 1000 });
    images.push(...page.items.filter((image) => !image.missing));
    after = page.next;
  } while (after !== null);
  if (split === 'all') return images;
  const held = heldOutKeys(images.map(splitKey), seed);
  return images.filter((image) => held.has(splitKey(image)));
}

export interface PredictOptions {
  readonly provider?: ProviderChoice;
  readonly workers?: number;
  readonly workerPort?: () => WorkerPort;
  /** After each image, with how many are done. */
  readonly onImage?: (done: number, total: number) => void;
  /** Checked before each image is handed out: true stops early (the images not run have no detections). */
  readonly stopped?: () => boolean;
}

export interface Predictions {
  readonly model: ModelInfo;
  /** Every detection down to the graph's own cut, by image. */
  readonly byImage: Map<ImageId, Detection[]>;
  /** Images the model could not run on, with why. */
  readonly failures: { readonly path: string; readonly message: string }[];
}

/** Runs the model of `cardPath` on each image, keeping every detection (score threshold 0). */
export async function predict(store: ProjectStore, cardPath: string, images: readonly ImageRecord[], options: PredictOptions = {}): Promise<Predictions> {
  const pool = await InferencePool.start(
    { cardPath, provider: options.provider ?? 'auto', scoreThreshold: 0 },
    { ...(options.workers !== undefined ? { workers: options.workers } : {}), ...(options.workerPort ? { workerPort: options.workerPort } : {}) },
  );
  const byImage = new Map<ImageId, Detection[]>();
  const failures: { path: string; message: string }[] = [];
  try {
    const limit = 2 * pool.layout.workers + 1;
    let next = 0;
    let done = 0;
    const work = async (): Promise<void> => {
      while (next < images.length && !options.stopped?.()) {
        const image = images[next++]!;
        const outcome = await pool.predict(path.join(store.folder, image.path));
        if (outcome.ok && (outcome.prediction.width !== image.width || outcome.prediction.height !== image.height)) {
          failures.push({ path: image.path, message: `is ${outcome.prediction.width} x ${outcome.prediction.height}, not ${image.width} x ${image.height} as scanned; rescan the folder` });
        } else if (outcome.ok) {
          byImage.set(image.id, outcome.prediction.detections);
        } else if (!('cancelled' in outcome)) {
          failures.push({ path: image.path, message: outcome.message });
        }
        options.onImage?.(++done, images.length);
      }
    };
    await Promise.all(Array.from({ length: limit }, work));
    return { model: pool.model, byImage, failures };
  } finally {
    await pool.dispose();
  }
}

export interface Scores {
  readonly box: CocoMetrics;
  /** Null for a box-only model. */
  readonly mask: CocoMetrics | null;
  readonly images: number;
  /** Reviewed instances scored against (crowd regions aside). */
  readonly instances: number;
  /** The card's score threshold, where `at_score` is taken. */
  readonly threshold: number;
  /** What the scored images and their truth were: the same fingerprint means figures on the same ground. */
  readonly imageSet: string;
  /** The model's classes that the project has no category for (their detections are not scored). */
  readonly unknownClasses: string[];
}

/** The reviewed truth of each image (app/review isTruth), as the COCO export writes it. */
export function truthOf(store: ProjectStore, images: readonly ImageRecord[]): Map<ImageId, Annotation[]> {
  return new Map(images.map((image) => [image.id, store.annotations.forImage(image.id).filter((a) => isTruth(a))]));
}

/** A fingerprint of images and their truth: ids, file content and every instance's class, box and mask. */
export function imageSetFingerprint(images: readonly ImageRecord[], truth: ReadonlyMap<ImageId, readonly Annotation[]>): string {
  const hash = createHash('sha256');
  for (const image of [...images].sort((a, b) => a.id - b.id)) {
    hash.update(`${image.id}:${image.hash}\n`);
    for (const a of truth.get(image.id) ?? []) hash.update(`${a.categoryId}|${a.bbox.join(',')}|${a.crowd ? 1 : 0}|${a.mask?.counts ?? ''}\n`);
  }
  return hash.digest('hex');
}

/**
 * COCOeval's input for these detections against the truth, over the project's categories (matched to the model's
 * labels by name; detections of classes the project lacks are left out). Truth areas are mask areas, as in a COCO
 * file; a box without a mask is scored as the rectangle it is.
 */
export function scoringInput(
  images: readonly ImageRecord[],
  truth: ReadonlyMap<ImageId, readonly Annotation[]>,
  detections: ReadonlyMap<ImageId, readonly Detection[]>,
  categories: readonly Category[],
): CocoEvalInput {
  const categoryOf = new Map(categories.map((c) => [c.name, c.id]));
  const annotations: GroundTruth[] = [];
  for (const image of images) {
    for (const a of truth.get(image.id) ?? []) {
      const [x, y, w, h] = a.bbox;
      annotations.push({
        id: annotations.length + 1,
        image_id: image.id,
        category_id: a.categoryId,
        bbox: a.bbox,
        area: a.mask ? rleArea(a.mask) : w * h,
        iscrowd: a.crowd ? 1 : 0,
        segmentation: a.mask ? cocoRle(a.mask) : [[x, y, x + w, y, x + w, y + h, x, y + h]],
      });
    }
  }
  const results: EvalDetection[] = [];
  for (const image of images) {
    for (const d of detections.get(image.id) ?? []) {
      const categoryId = categoryOf.get(d.label);
      if (categoryId === undefined) continue;
      results.push({ image_id: image.id, category_id: categoryId, score: d.score, bbox: d.bbox, ...(d.mask ? { segmentation: cocoRle(d.mask) } : {}) });
    }
  }
  return { images: images.map(({ id, width, height }) => ({ id, width, height })), categories, annotations, detections: results };
}

/** COCOeval of the detections against the truth (see scoringInput), boxes and, for a mask model, masks. */
export function score(
  model: ModelInfo,
  images: readonly ImageRecord[],
  truth: ReadonlyMap<ImageId, readonly Annotation[]>,
  detections: ReadonlyMap<ImageId, readonly Detection[]>,
  categories: readonly Category[],
): Scores {
  const input = scoringInput(images, truth, detections, categories);
  const hasMasks = model.card.format !== 'torchvision-fasterrcnn';
  // The pool ran at threshold 0; the card's own threshold is where a pre-label run would cut.
  const threshold = model.card.thresholds.score;
  const options = { threshold, minThreshold: model.card.graph_score_threshold ?? 0 };
  const known = new Set(categories.map((c) => c.name));
  return {
    box: cocoEvaluate(input, { ...options, iouType: 'bbox' }),
    mask: hasMasks ? cocoEvaluate(input, { ...options, iouType: 'segm' }) : null,
    images: images.length,
    instances: input.annotations.filter((a) => !a.iscrowd).length,
    threshold,
    imageSet: imageSetFingerprint(images, truth),
    unknownClasses: model.card.labels.slice(1).filter((label) => !known.has(label)),
  };
}

const cocoRle = (rle: Rle) => ({ size: [rle.size[0], rle.size[1]] as [number, number], counts: rle.counts });
