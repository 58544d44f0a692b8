import type { Database } from 'better-sqlite3';
import { CategoryId, ImageId, type ImageStatus } from '../../app/model/index.js';
import type { ImageRepository, StatusCounts } from './images.js';
import { PRELABEL_FAILED } from './runs.js';

export interface FailedImage {
  readonly imageId: ImageId;
  readonly path: string;
  /** 'scan' when the file could not be decoded, otherwise the name of the model that failed on it. */
  readonly stage: string;
  readonly reason: string;
}

export interface ClassCount {
  readonly categoryId: CategoryId;
  readonly name: string;
  readonly color: string;
  /** Annotations of this class that are not rejected. */
  readonly instances: number;
}

/** An image holding annotations made before its file changed (see AnnotationRepository.forgetChangedContent). */
export interface StaleImage {
  readonly imageId: ImageId;
  readonly path: string;
  readonly annotations: number;
  /** The size they were made for, and the image's size now. */
  readonly madeFor: { readonly width: number; readonly height: number };
  readonly now: { readonly width: number; readonly height: number };
}

export interface ProjectStats {
  readonly images: number;
  readonly byStatus: StatusCounts;
  readonly missing: number;
  /**
   * Every failure: the files the scan could not decode, and each model's failures (an image nobody had worked on is in
   * status 'error' with it, so byStatus.error counts both kinds).
   */
  readonly failed: FailedImage[];
  readonly stale: StaleImage[];
  readonly classes: ClassCount[];
}

export class StatsRepository {
  constructor(
    private readonly db: Database,
    private readonly images: ImageRepository,
  ) {}

  summary(): ProjectStats {
    const byStatus = this.images.countByStatus();
    return {
      images: Object.values(byStatus).reduce((a, b) => a + b, 0),
      byStatus,
      missing: (this.db.prepare(`SELECT count(*) AS n FROM images WHERE missing = 1`).get() as { n: number }).n,
      failed: this.failedImages(),
      stale: this.staleImages(),
      classes: this.instancesByClass(),
    };
  }

  /** The images the scan could not decode (status 'error' without a failed run), with the decoder's reason, by path. */
  unreadableImages(): FailedImage[] {
    return this.failedImages().filter((f) => f.stage === 'scan');
  }

  /** Images holding stale annotations (rejected ones aside), with how many and the size they were made for, by path. */
  staleImages(): StaleImage[] {
    const rows = this.db
      .prepare(
        `SELECT i.id AS imageId, i.path, i.width, i.height, a.stale_width AS madeForWidth, a.stale_height AS madeForHeight,
                count(*) AS annotations
           FROM annotations a JOIN images i ON i.id = a.image_id
          WHERE a.stale_width IS NOT NULL AND a.state != 'rejected'
          GROUP BY i.id ORDER BY i.path`,
      )
      .all() as { imageId: number; path: string; width: number; height: number; madeForWidth: number; madeForHeight: number; annotations: number }[];
    return rows.map((r) => ({
      imageId: ImageId(r.imageId),
      path: r.path,
      annotations: r.annotations,
      madeFor: { width: r.madeForWidth, height: r.madeForHeight },
      now: { width: r.width, height: r.height },
    }));
  }

  /** Files the scan could not decode and images a model failed on, with the reason, by path. */
  failedImages(): FailedImage[] {
    const rows = this.db
      .prepare(
        `SELECT id AS imageId, path, 'scan' AS stage, coalesce(error, 'unreadable') AS reason
           FROM images WHERE status = ? AND NOT ${PRELABEL_FAILED}
         UNION ALL
         SELECT i.id, i.path, m.name, coalesce(r.message, 'failed')
           FROM prelabel_results r JOIN images i ON i.id = r.image_id JOIN models m ON m.id = r.model_id
          WHERE r.ok = 0
         ORDER BY path, stage`,
      )
      .all('error' satisfies ImageStatus) as { imageId: number; path: string; stage: string; reason: string }[];
    return rows.map((r) => ({ ...r, imageId: ImageId(r.imageId) }));
  }

  /** Every category with its number of annotations that are not rejected. */
  instancesByClass(): ClassCount[] {
    const rows = this.db
      .prepare(
        `SELECT c.id AS categoryId, c.name, c.color,
                (SELECT count(*) FROM annotations a WHERE a.category_id = c.id AND a.state != 'rejected') AS instances
           FROM categories c ORDER BY c.id`,
      )
      .all() as { categoryId: number; name: string; color: string; instances: number }[];
    return rows.map((r) => ({ ...r, categoryId: CategoryId(r.categoryId) }));
  }
}
