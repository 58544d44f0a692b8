// Review decisions as the store applies them: the pure rules of app/review make a Diff<Annotation>, applied here with
// its history entries and the image's status in one transaction. The app, `loupe review` and `images.setStatus` all
// come through here, so they decide alike.
import type { Database } from 'better-sqlite3';
import { squash, type Diff } from '../../app/history/diff.js';
import { NotFoundError, type Annotation, type ImageId, type ImageRecord, type ImageStatus } from '../../app/model/index.js';
import { decideByRules, settleForReview, type ReviewRules, type ReviewView } from '../../app/review/index.js';
import type { AnnotationRepository } from './annotations.js';
import type { ImageRepository } from './images.js';
import { PRELABEL_FAILED } from './runs.js';

/** What one review step did to one image; applying `changes` inverted with `previousStatus` undoes it. */
export interface ReviewOutcome {
  readonly changes: Diff<Annotation>;
  readonly accepted: number;
  readonly rejected: number;
  /** Stale annotations kept (the image still has their size) and dropped (it has not). */
  readonly kept: number;
  readonly dropped: number;
  readonly markedReviewed: boolean;
  readonly previousStatus: ImageStatus;
  readonly image: ImageRecord;
}

export class ReviewRepository {
  constructor(
    private readonly db: Database,
    private readonly images: ImageRepository,
    private readonly annotations: AnnotationRepository,
  ) {}

  /** Whether the image is in 'error' because a pre-label run failed on it (it decodes: a person may still review it). */
  private runFailedOn(imageId: ImageId): boolean {
    return this.db.prepare(`SELECT 1 FROM images WHERE id = ? AND ${PRELABEL_FAILED}`).get(imageId) !== undefined;
  }

  /**
   * Marks an image reviewed, settling it first: pending predictions shown in `view` are accepted, the others
   * rejected (a null view shows nothing), stale annotations kept when they fit the image and dropped otherwise.
   */
  markReviewed(imageId: ImageId, view: ReviewView | null): ReviewOutcome {
    return this.review(imageId, {}, { markReviewed: true, view });
  }

  /**
   * Applies bulk decisions (`loupe review`) and, with `markReviewed`, then settles what is left as markReviewed
   * does with `view`. One transaction; each changed annotation gets one history entry.
   */
  review(imageId: ImageId, rules: ReviewRules, options: { markReviewed: boolean; view: ReviewView | null }): ReviewOutcome {
    return this.db.transaction((): ReviewOutcome => {
      const image = this.images.get(imageId);
      if (!image) throw new NotFoundError(`image ${imageId} does not exist`);
      if (options.markReviewed && image.status === 'error' && !this.runFailedOn(imageId)) {
        throw new Error(`${image.path} could not be decoded (${image.error ?? 'unreadable'}): it cannot be marked reviewed`);
      }
      const current = this.annotations.forImage(imageId);
      const decided = decideByRules(current, rules);
      let changes = decided.changes;
      let { accepted, rejected } = decided;
      let kept = 0;
      let dropped = 0;
      if (options.markReviewed) {
        const afterRules = current.map((a) => decided.changes.updated.find((u) => u.before.id === a.id)?.after ?? a);
        const settled = settleForReview(afterRules, image, options.view);
        changes = squash(changes, settled.changes);
        accepted += settled.accepted;
        rejected += settled.rejected;
        kept = settled.kept;
        dropped = settled.dropped;
      }
      const status = options.markReviewed ? 'reviewed' : undefined;
      const applied = this.annotations.apply(imageId, changes, 'human', status ? { status } : {});
      return {
        changes: applied,
        accepted,
        rejected,
        kept,
        dropped,
        markedReviewed: options.markReviewed,
        previousStatus: image.status,
        image: this.images.get(imageId)!,
      };
    })();
  }
}
