// The open project's images: pages, one image, its status, and the review queue's next image.
import { NEEDS_REVIEW, type EventName, type EventPayload, type ImageFilter, type ImageSort } from '../../app/ipc/contract.js';
import { NotFoundError, type ImageId, type ImageRecord, type ImageStatus } from '../../app/model/index.js';
import type { ImagePage } from '../store/index.js';
import type { ProjectService } from './project.js';

export interface ImageService {
  /** Images ordered by path (or most uncertain first), one page at a time: pass the previous page's `next` as `after`. */
  list(query: ImageFilter & { readonly after: string | null; readonly limit: number; readonly sort?: ImageSort }): ImagePage;
  /** The image; a NotFoundError when the project has none with this id. */
  get(id: ImageId): ImageRecord;
  /** Sets its status; 'reviewed' settles it with nothing shown (every pending prediction rejected). */
  setStatus(id: ImageId, status: ImageStatus): ImageRecord;
  /** The first image after `afterPath` (in path order, wrapping around) that still needs review; null when none. */
  nextToReview(afterPath: string | null): ImageRecord | null;
  /**
   * An image (by its path in the project) whose file crashed the process decoding it: it goes to 'error' with the
   * reason (a reviewed one keeps its status), and the UI is told.
   */
  recordUnreadable(projectPath: string, reason: string): void;
}

export function createImageService(project: ProjectService, emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void): ImageService {
  const service: ImageService = {
    list: (query) => project.require().images.list(query),
    get(id) {
      const found = project.require().images.get(id);
      if (!found) throw new NotFoundError(`image ${id} does not exist`);
      return found;
    },
    setStatus(id, status) {
      service.get(id);
      const store = project.require();
      if (status === 'reviewed') return store.review.markReviewed(id, null).image;
      store.images.setStatus(id, status);
      return service.get(id);
    },
    nextToReview(afterPath) {
      const images = project.require().images;
      const firstAfter = (after: string | null): ImageRecord | null => {
        const candidates = NEEDS_REVIEW.flatMap((status) => images.list({ status, after, limit: 1 }).items);
        candidates.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        return candidates[0] ?? null;
      };
      return firstAfter(afterPath) ?? (afterPath === null ? null : firstAfter(null));
    },
    recordUnreadable(projectPath, reason) {
      const store = project.current();
      if (!store) return;
      const image = store.images.getByPath(projectPath);
      if (!image || image.status === 'reviewed') return;
      store.images.setStatus(image.id, 'error', reason);
      emit('images.changed', { ids: [image.id] });
    },
  };
  return service;
}
