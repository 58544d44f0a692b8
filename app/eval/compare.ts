/**
 * A model's predictions on one reviewed image against what was reviewed there: which instances it found, which it
 * missed and which predictions match nothing. Matching is COCOeval's at IoU 0.5 (greedy from the highest score
 * down, each prediction taking the unmatched instance of its class it overlaps most; mask IoU when both have masks,
 * box IoU otherwise):
 *
 * - matched: a prediction on a reviewed instance of its class at IoU >= 0.5; `low-overlap` when that IoU is below
 *   0.75 (found, but its outline is off, the difference between COCO's AP50 and AP75);
 * - missed: a reviewed instance (not a crowd region) no prediction matched;
 * - extra: a prediction matching no instance; one that falls on a crowd region of its class (half or more of it
 *   inside) is neither, as in COCOeval.
 *
 * Pure: the store, the CLI and the app share it.
 */
import { bboxIou } from '../geometry/bbox.js';
import { iou } from '../geometry/rle.js';
import type { Annotation, AnnotationId, Bbox, CategoryId, Rle } from '../model/types.js';

export const MATCH_IOU = 0.5;
export const GOOD_IOU = 0.75;

export interface ComparedRegion {
  readonly categoryId: CategoryId;
  readonly bbox: Bbox;
  readonly mask: Rle | null;
  readonly score: number;
}

export type Outcome = 'matched' | 'low-overlap' | 'extra' | 'crowd';

export interface PredictionOutcome {
  readonly outcome: Outcome;
  /** The reviewed instance it matched (matched, low-overlap) or the crowd region it fell on. */
  readonly annotationId: AnnotationId | null;
  /** IoU with that instance; 0 for an extra. */
  readonly iou: number;
}

export interface ImageComparison {
  /** One per prediction, in the order given. */
  readonly predictions: readonly PredictionOutcome[];
  /** Reviewed instances no prediction matched. */
  readonly missed: readonly AnnotationId[];
  readonly counts: { readonly matched: number; readonly lowOverlap: number; readonly missed: number; readonly extra: number };
}

function overlap(a: Pick<ComparedRegion, 'bbox' | 'mask'>, b: Pick<Annotation, 'bbox' | 'mask'>, crowd: boolean): number {
  if (a.mask && b.mask && a.mask.size[0] === b.mask.size[0] && a.mask.size[1] === b.mask.size[1]) return iou(a.mask, b.mask, crowd);
  if (!crowd) return bboxIou(a.bbox, b.bbox);
  const [x, y, w, h] = a.bbox;
  const [bx, by, bw, bh] = b.bbox;
  const iw = Math.min(x + w, bx + bw) - Math.max(x, bx);
  const ih = Math.min(y + h, by + bh) - Math.max(y, by);
  return iw > 0 && ih > 0 && w * h > 0 ? (iw * ih) / (w * h) : 0;
}

/** Compares predictions with the reviewed truth of one image (see the module comment for the rules). */
export function compareImage(truth: readonly Annotation[], predictions: readonly ComparedRegion[]): ImageComparison {
  const instances = truth.filter((a) => !a.crowd);
  const crowds = truth.filter((a) => a.crowd);
  const taken = new Set<AnnotationId>();
  const outcomes: PredictionOutcome[] = new Array(predictions.length);
  const order = predictions.map((_, i) => i).sort((a, b) => predictions[b]!.score - predictions[a]!.score || a - b);
  for (const i of order) {
    const p = predictions[i]!;
    let best: { id: AnnotationId; iou: number } | null = null;
    for (const a of instances) {
      if (a.categoryId !== p.categoryId || taken.has(a.id)) continue;
      const value = overlap(p, a, false);
      if (value >= MATCH_IOU && (best === null || value > best.iou)) best = { id: a.id, iou: value };
    }
    if (best) {
      taken.add(best.id);
      outcomes[i] = { outcome: best.iou < GOOD_IOU ? 'low-overlap' : 'matched', annotationId: best.id, iou: best.iou };
      continue;
    }
    const crowd = crowds.find((a) => a.categoryId === p.categoryId && overlap(p, a, true) >= MATCH_IOU);
    outcomes[i] = crowd ? { outcome: 'crowd', annotationId: crowd.id, iou: overlap(p, crowd, true) } : { outcome: 'extra', annotationId: null, iou: 0 };
  }
  const missed = instances.filter((a) => !taken.has(a.id)).map((a) => a.id);
  const count = (outcome: Outcome) => outcomes.filter((o) => o.outcome === outcome).length;
  return {
    predictions: outcomes,
    missed,
    counts: { matched: count('matched') + count('low-overlap'), lowOverlap: count('low-overlap'), missed: missed.length, extra: count('extra') },
  };
}
