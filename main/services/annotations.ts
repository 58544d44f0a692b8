// One image's annotations and the review decisions on them, each edit a Diff<Annotation> checked against the store.
import type { Diff } from '../../app/history/diff.js';
import type { Annotation, ImageId, ImageStatus } from '../../app/model/index.js';
import type { ReviewView } from '../../app/review/index.js';
import type { ReviewOutcome } from '../store/index.js';
import type { ImageService } from './images.js';
import type { ProjectService } from './project.js';

export interface AnnotationService {
  list(imageId: ImageId): Annotation[];
  /**
   * Applies one edit (one undo step) and returns the image's annotations after it. A `before` that is not what the
   * store holds is a ConflictError; `status` is set in the same transaction (undoing a review).
   */
  apply(imageId: ImageId, diff: Diff<Annotation>, status?: ImageStatus): Annotation[];
  /** Marks the image reviewed, settling what `view` showed (app/review's rules); the outcome's diff undoes it. */
  markReviewed(imageId: ImageId, view: ReviewView): ReviewOutcome;
}

export function createAnnotationService(project: ProjectService, images: ImageService): AnnotationService {
  return {
    list(imageId) {
      images.get(imageId);
      return project.require().annotations.forImage(imageId);
    },
    apply(imageId, diff, status) {
      images.get(imageId);
      const store = project.require();
      store.annotations.apply(imageId, diff, 'human', status === undefined ? {} : { status });
      return store.annotations.forImage(imageId);
    },
    markReviewed(imageId, view) {
      images.get(imageId);
      return project.require().review.markReviewed(imageId, view);
    },
  };
}
