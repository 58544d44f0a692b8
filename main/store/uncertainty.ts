// "Most uncertain first": the order in which reviewing teaches the next model most. An image's uncertainty is how
// many of its pending predictions sit near their model's score threshold, where the model cannot tell an object
// from a false alarm, each weighted by how near:
//
//   uncertainty = sum over the image's pending predictions of max(0, 1 - |score - threshold| / 0.2)
//
// with `threshold` the score threshold of the card of the model that made the prediction (0.5 when it has none).
// A prediction exactly at the threshold counts 1, one 0.1 away counts 0.5, one 0.2 or more away counts 0; an image
// without pending predictions scores 0. Ties go by path.
import type { Database } from 'better-sqlite3';
import { ImageId } from '../../app/model/index.js';

/** How far from the threshold a score still counts as uncertain. */
export const UNCERTAINTY_BAND = 0.2;

/** The score of the image row `images` as an SQL expression (rounded so that cursors compare exactly). */
export const UNCERTAINTY_SQL = `round((
  SELECT coalesce(sum(max(0.0, 1.0 - abs(a.score - coalesce(json_extract(m.card, '$.thresholds.score'), 0.5)) / ${UNCERTAINTY_BAND})), 0.0)
    FROM annotations a JOIN models m ON m.id = a.model_id
   WHERE a.image_id = images.id AND a.origin = 'model' AND a.state = 'pending' AND a.score IS NOT NULL), 9)`;

/** How many of the image's pending predictions lie within the band around their threshold. */
const NEAR_SQL = `(
  SELECT count(*) FROM annotations a JOIN models m ON m.id = a.model_id
   WHERE a.image_id = images.id AND a.origin = 'model' AND a.state = 'pending' AND a.score IS NOT NULL
     AND abs(a.score - coalesce(json_extract(m.card, '$.thresholds.score'), 0.5)) < ${UNCERTAINTY_BAND})`;

export interface QueuedImage {
  readonly id: ImageId;
  readonly path: string;
  readonly status: string;
  readonly uncertainty: number;
  /** Pending predictions within the band around their threshold. */
  readonly nearThreshold: number;
  readonly pending: number;
}

/** The next `limit` images that still need review (not reviewed, readable, present), most uncertain first. */
export function uncertaintyQueue(db: Database, limit: number): QueuedImage[] {
  const rows = db.prepare(`
    SELECT id, path, status, ${UNCERTAINTY_SQL} AS uncertainty, ${NEAR_SQL} AS near,
           (SELECT count(*) FROM annotations a WHERE a.image_id = images.id AND a.origin = 'model' AND a.state = 'pending') AS pending
      FROM images WHERE status NOT IN ('reviewed', 'error') AND missing = 0
     ORDER BY uncertainty DESC, path LIMIT ?`).all(limit) as { id: number; path: string; status: string; uncertainty: number; near: number; pending: number }[];
  return rows.map((r) => ({ id: ImageId(r.id), path: r.path, status: r.status, uncertainty: r.uncertainty, nearThreshold: r.near, pending: r.pending }));
}
