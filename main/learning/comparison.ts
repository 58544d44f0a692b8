// "Compare with reviewed": a model runs on the reviewed images and its predictions (those at or above its card's
// threshold, as pre-labeling would keep them) go to the project's comparison set, never into the annotations. Each
// image gets counts of missed instances, extra predictions and low-overlap matches (app/eval/compare.ts), which
// the image list filters on; an image's comparison is worked out again from the stored predictions whenever it is
// read, so a person's edits since (an extra taken as an annotation) count at once.
import { compareImage, type ImageComparison } from '../../app/eval/compare.js';
import type { Res } from '../../app/ipc/contract.js';
import type { ImageId, ImageRecord, ModelId } from '../../app/model/index.js';
import { hashFile } from '../fs/hash.js';
import type { ProjectStore } from '../store/index.js';
import { learningRecords, type ComparisonPrediction } from './records.js';
import { predict, reviewedImages, truthOf, type PredictOptions } from './scoring.js';

export interface ComparedImage {
  readonly image: ImageRecord;
  readonly counts: ImageComparison['counts'];
}

export interface ComparisonResult {
  readonly modelId: ModelId;
  readonly modelName: string;
  readonly threshold: number;
  readonly images: readonly ComparedImage[];
  readonly failures: readonly { readonly path: string; readonly message: string }[];
  /** Classes of the model that the project has no category for (their predictions are left out). */
  readonly unknownClasses: readonly string[];
}

/** Runs the model of `cardPath` on every reviewed image and replaces the comparison set with its predictions. */
export async function compareWithReviewed(store: ProjectStore, cardPath: string, options: PredictOptions = {}): Promise<ComparisonResult> {
  const images = reviewedImages(store, 'all');
  const predictions = await predict(store, cardPath, images, options);
  const { card, onnxPath } = predictions.model;
  const threshold = card.thresholds.score;
  const model = store.models.register({
    name: card.name, format: card.format, labels: card.labels, card, path: onnxPath,
    sha256: card.sha256 ?? (await hashFile(onnxPath)),
  });
  const categoryOf = new Map(store.categories.list().map((c) => [c.name, c.id]));
  const truth = truthOf(store, images);
  const compared: ComparedImage[] = [];
  const rows = images.flatMap((image) => {
    const detections = predictions.byImage.get(image.id);
    if (!detections) return [];
    const kept = detections.flatMap((d) => {
      const categoryId = categoryOf.get(d.label);
      return categoryId !== undefined && d.score >= threshold ? [{ categoryId, bbox: d.bbox, mask: d.mask, score: d.score }] : [];
    });
    const { counts } = compareImage(truth.get(image.id) ?? [], kept);
    compared.push({ image, counts });
    return [{ imageId: image.id, predictions: kept, counts: { matched: counts.matched, missed: counts.missed, extra: counts.extra, lowOverlap: counts.lowOverlap } }];
  });
  if (options.stopped?.()) throw new Error('comparison stopped; nothing was replaced');
  learningRecords(store).replaceComparison(model.id, rows);
  return {
    modelId: model.id, modelName: card.name, threshold, images: compared, failures: predictions.failures,
    unknownClasses: card.labels.slice(1).filter((label) => !categoryOf.has(label)),
  };
}

export interface ImageComparisonView extends ImageComparison {
  readonly modelId: ModelId;
  readonly stored: readonly ComparisonPrediction[];
}

/** One image's comparison against its truth as it is now (and its counts brought up to date); null when not compared. */
export function imageComparison(store: ProjectStore, imageId: ImageId): ImageComparisonView | null {
  const records = learningRecords(store);
  const modelId = records.comparisonModel();
  if (modelId === null || records.comparisonCounts(imageId) === null) return null;
  const stored = records.comparisonPredictions(imageId);
  const image = store.images.get(imageId);
  const truth = image ? truthOf(store, [image]).get(imageId)! : [];
  const comparison = compareImage(truth, stored);
  records.setComparisonCounts(imageId, modelId, comparison.counts);
  return { ...comparison, modelId, stored };
}

/** An image's comparison as the contract's learning.comparison carries it. */
export function comparisonReply(store: ProjectStore, imageId: ImageId): Res<'learning.comparison'> {
  const found = imageComparison(store, imageId);
  if (!found) return { comparison: null };
  return {
    comparison: {
      modelId: found.modelId,
      predictions: found.stored.map((p, i) => ({
        id: p.id, categoryId: p.categoryId, bbox: p.bbox, mask: p.mask, score: p.score,
        outcome: found.predictions[i]!.outcome, annotationId: found.predictions[i]!.annotationId, iou: found.predictions[i]!.iou,
      })),
      missed: [...found.missed],
      counts: found.counts,
    },
  };
}
