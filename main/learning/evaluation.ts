// Evaluations kept per model version: a model's COCO figures on a set of reviewed images, stored with the set's
// fingerprint, and the compact view of them the CLI prints and the app's model table shows.
import type { EvaluationSummary } from '../../app/ipc/learning-contract.js';
import type { CocoMetrics } from '../../app/eval/cocoeval.js';
import type { ModelId } from '../../app/model/index.js';
import { hashFile } from '../fs/hash.js';
import type { ModelInfo } from '../inference/protocol.js';
import type { ProjectStore } from '../store/index.js';
import { learningRecords, type StoredEvaluation } from './records.js';
import type { Scores, Split } from './scoring.js';

export interface ModelScore {
  readonly modelId: ModelId;
  readonly name: string;
  readonly cardPath: string;
  readonly scores: Scores;
  readonly evaluation: StoredEvaluation;
}

/** Registers the scored model in the project (by its weights' sha256) and stores its evaluation. */
export async function evaluationRecord(store: ProjectStore, model: ModelInfo, cardPath: string, split: Split, scores: Scores): Promise<ModelScore> {
  const { card } = model;
  const sha256 = card.sha256 ?? (await hashFile(model.onnxPath));
  const registered = store.models.register({ name: card.name, format: card.format, labels: card.labels, card, path: model.onnxPath, sha256 });
  const evaluation = learningRecords(store).addEvaluation({
    modelId: registered.id,
    split,
    imageSet: scores.imageSet,
    images: scores.images,
    instances: scores.instances,
    threshold: scores.threshold,
    metrics: { box: scores.box, mask: scores.mask, unknown_classes: scores.unknownClasses },
  });
  return { modelId: registered.id, name: card.name, cardPath, scores, evaluation };
}

/** The figures a person compares versions by, from a stored evaluation. */
export function summarise(evaluation: StoredEvaluation): EvaluationSummary {
  const box = evaluation.metrics.box as CocoMetrics;
  const mask = (evaluation.metrics.mask as CocoMetrics | null) ?? null;
  // Precision, recall and the suggested threshold come from the masks when the model has them, as in its card.
  const main = mask ?? box;
  const names = Object.keys(box.per_class);
  return {
    evaluationId: evaluation.id,
    modelId: evaluation.modelId,
    split: evaluation.split,
    imageSet: evaluation.imageSet,
    images: evaluation.images,
    instances: evaluation.instances,
    threshold: evaluation.threshold,
    createdAt: evaluation.createdAt,
    box: { AP: box.AP, AP50: box.AP50, AP75: box.AP75 },
    mask: mask && { AP: mask.AP, AP50: mask.AP50, AP75: mask.AP75 },
    atThreshold: figures(main.at_score),
    suggested: { score: main.suggested_score.score, ...figures(main.suggested_score) },
    perClass: names.map((name) => {
      const at = main.at_score.per_class[name];
      return {
        name,
        boxAP: box.per_class[name] ?? null,
        maskAP: mask ? (mask.per_class[name] ?? null) : null,
        instances: at?.instances ?? 0,
        precision: at?.precision ?? null,
        recall: at?.recall ?? null,
        f1: at?.f1 ?? null,
        suggested: main.suggested_score.per_class[name]?.best_score ?? null,
      };
    }),
  };
}

function figures(point: { precision: number | null; recall: number | null; f1: number | null }) {
  return { precision: point.precision, recall: point.recall, f1: point.f1 };
}
