import type { Database, Statement } from 'better-sqlite3';
import { IMAGE_STATUSES, ImageId, type ImageRecord, type ImageStatus } from '../../app/model/index.js';
import { InvalidInputError, type CategoryId } from '../../app/model/index.js';
import type { AnnotationRepository } from './annotations.js';
import { PRELABEL_FAILED } from './runs.js';
import { UNCERTAINTY_SQL } from './uncertainty.js';

/** What a folder scan learns about one file. `error` is the decoder's message when sharp could not read it. */
export interface ImageFile {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly orientation: number;
  readonly hash: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly error: string | null;
}

/** The few columns a rescan compares against the files it finds. */
export interface ScanIndexEntry {
  readonly id: ImageId;
  readonly path: string;
  readonly hash: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly missing: boolean;
}

/** A scan write: `id` updates that row (a changed or moved file), no id inserts a new image. */
export interface ImageFileWrite {
  readonly id?: ImageId;
  readonly file: ImageFile;
}

export interface ImageQuery {
  readonly status?: ImageStatus;
  /** Only images with at least one (not rejected) annotation of this category. */
  readonly categoryId?: CategoryId;
  /** Case-insensitive substring of the relative path. */
  readonly search?: string;
  /** Only images holding stale annotations (made before their file changed; rejected ones aside), or only those without. */
  readonly stale?: boolean;
  /** Only images where the comparison set's model disagrees with the review (missed, extra or low-overlap), or only those where it does not. */
  readonly disagreements?: boolean;
  /** By path (default), or most uncertain first (see uncertainty.ts). */
  readonly sort?: 'path' | 'uncertain';
  /** The cursor of the previous page. */
  readonly after?: string | null;
  readonly limit: number;
}

export interface ImagePage {
  readonly items: ImageRecord[];
  /** Pass as `after` to get the next page; null on the last page. */
  readonly next: string | null;
}

export type StatusCounts = Record<ImageStatus, number>;

interface ImageRow {
  id: number;
  path: string;
  width: number;
  height: number;
  orientation: number;
  hash: string;
  status: ImageStatus;
  error: string | null;
  missing: number;
}

const imageColumns = 'id, path, width, height, orientation, hash, status, error, missing';

export function toImageRecord(row: ImageRow): ImageRecord {
  return {
    id: ImageId(row.id),
    path: row.path,
    width: row.width,
    height: row.height,
    orientation: row.orientation,
    hash: row.hash,
    status: row.status,
    error: row.error,
    missing: row.missing === 1,
  };
}

export const MAX_PAGE_SIZE = 1000;

/**
 * Images of the project. Pages are ordered by path and use keyset pagination (the cursor is the last
 * path of the page), so every page of a 50,000-image project is an index range read.
 */
export class ImageRepository {
  private readonly byId: Statement<[number], ImageRow>;
  private readonly byPath: Statement<[string], ImageRow>;
  private readonly insert: Statement;
  private readonly updateFile: Statement;
  private readonly setMissingStmt: Statement;
  private readonly setStatusStmt: Statement;
  private readonly fileOf: Statement<[number], { hash: string; width: number; height: number }>;
  private readonly forgetResults: Statement<[number]>;

  constructor(
    private readonly db: Database,
    private readonly annotations: AnnotationRepository,
  ) {
    this.byId = db.prepare(`SELECT ${imageColumns} FROM images WHERE id = ?`);
    this.byPath = db.prepare(`SELECT ${imageColumns} FROM images WHERE path = ?`);
    // Two scans of one folder at once (two runs starting on an unscanned folder) must not collide on a path.
    this.insert = db.prepare(`
      INSERT INTO images (path, width, height, orientation, hash, size, mtime_ms, status, error)
      VALUES (@path, @width, @height, @orientation, @hash, @size, @mtimeMs, @status, @error)
      ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms
      RETURNING id`);
    // A file that decodes again leaves 'error' for 'new'; one that stops decoding becomes 'error'; one whose content
    // changed goes back to 'new' (its annotations are then marked stale); otherwise the review status is kept, and an
    // image whose pre-label failed keeps that status and reason (it decodes, and is tried again by the next run).
    this.updateFile = db.prepare(`
      UPDATE images SET path = @path, width = @width, height = @height, orientation = @orientation,
        hash = @hash, size = @size, mtime_ms = @mtimeMs, missing = 0,
        error = CASE WHEN @error IS NULL AND @changed = 0 AND status = 'error' AND ${PRELABEL_FAILED} THEN error ELSE @error END,
        status = CASE WHEN @error IS NOT NULL THEN 'error'
          WHEN @changed = 0 AND status = 'error' AND ${PRELABEL_FAILED} THEN 'error'
          WHEN @changed = 1 OR status = 'error' THEN 'new' ELSE status END,
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = @id`);
    this.setMissingStmt = db.prepare(`
      UPDATE images SET missing = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = ? AND missing != ?`);
    this.setStatusStmt = db.prepare(`
      UPDATE images SET status = ?, error = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`);
    this.fileOf = db.prepare(`SELECT hash, width, height FROM images WHERE id = ?`);
    this.forgetResults = db.prepare(`DELETE FROM prelabel_results WHERE image_id = ?`);
  }

  get(id: ImageId): ImageRecord | undefined {
    const row = this.byId.get(id);
    return row && toImageRecord(row);
  }

  getByPath(path: string): ImageRecord | undefined {
    const row = this.byPath.get(path);
    return row && toImageRecord(row);
  }

  /** Every image's path, hash, size and mtime: what a rescan needs to tell new, changed and moved files apart. */
  scanIndex(): ScanIndexEntry[] {
    const rows = this.db
      .prepare(`SELECT id, path, hash, size, mtime_ms AS mtimeMs, missing FROM images`)
      .all() as { id: number; path: string; hash: string; size: number; mtimeMs: number; missing: number }[];
    return rows.map((r) => ({ ...r, id: ImageId(r.id), missing: r.missing === 1 }));
  }

  /**
   * Inserts new files and updates changed or moved ones, all in one transaction. Returns the ids in order. A file
   * whose content hash differs from the stored one has changed: the image goes back to 'new', its pre-label results
   * are forgotten (so --only-new redoes it), its pending predictions are dropped and its other annotations marked
   * stale (see AnnotationRepository.forgetChangedContent).
   */
  writeFiles(writes: readonly ImageFileWrite[]): ImageId[] {
    return this.db.transaction(() =>
      writes.map(({ id, file }) => {
        const params = { ...file, mtimeMs: Math.round(file.mtimeMs) };
        if (id === undefined) {
          const status: ImageStatus = file.error === null ? 'new' : 'error';
          return ImageId((this.insert.get({ ...params, status }) as { id: number }).id);
        }
        const before = this.fileOf.get(id);
        if (!before) throw new Error(`image ${id} does not exist`);
        const changed = file.hash !== '' && before.hash !== '' && file.hash !== before.hash;
        this.updateFile.run({ ...params, id, changed: changed ? 1 : 0 });
        if (changed) {
          this.forgetResults.run(id);
          if (before.width > 0 && before.height > 0) this.annotations.forgetChangedContent(id, before);
        }
        return id;
      }),
    )();
  }

  /** Marks images as missing (not found by the last scan) or found again. Their annotations are kept. */
  setMissing(ids: readonly ImageId[], missing: boolean): number {
    const flag = missing ? 1 : 0;
    return this.db.transaction(() => ids.reduce((n, id) => n + this.setMissingStmt.run(flag, id, flag).changes, 0))();
  }

  setStatus(ids: ImageId | readonly ImageId[], status: ImageStatus, error: string | null = null): void {
    if (!IMAGE_STATUSES.includes(status)) throw new Error(`unknown image status '${status}'`);
    const list = typeof ids === 'number' ? [ids] : ids;
    this.db.transaction(() => {
      for (const id of list) {
        if (this.setStatusStmt.run(status, status === 'error' ? error : null, id).changes !== 1) {
          throw new Error(`image ${id} does not exist`);
        }
      }
    })();
  }

  /** One page of images ordered by path (or most uncertain first). */
  list(query: ImageQuery): ImagePage {
    const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(query.limit)));
    const { sql, params } = pageQuery(query, limit + 1);
    const rows = this.db.prepare(sql).all(params) as (ImageRow & { uncertainty?: number })[];
    const items = rows.slice(0, limit).map(toImageRecord);
    const last = rows[limit - 1];
    const cursor = last && (query.sort === 'uncertain' ? JSON.stringify([last.uncertainty, last.path]) : last.path);
    return { items, next: rows.length > limit ? (cursor ?? null) : null };
  }

  /** Number of images in each status, from one grouped query over the status index. */
  countByStatus(): StatusCounts {
    const counts = Object.fromEntries(IMAGE_STATUSES.map((s) => [s, 0])) as StatusCounts;
    const rows = this.db.prepare(`SELECT status, count(*) AS n FROM images GROUP BY status`).all() as {
      status: ImageStatus;
      n: number;
    }[];
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  count(): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM images`).get() as { n: number }).n;
  }
}

/** The SQL for one page; exported so tests can assert its query plan. */
export function pageQuery(query: Omit<ImageQuery, 'limit'>, limit: number): { sql: string; params: Record<string, unknown> } {
  const where = ['path > @after'];
  const params: Record<string, unknown> = { after: query.after ?? '', limit };
  if (query.status !== undefined) {
    where.push('status = @status');
    params.status = query.status;
  }
  if (query.categoryId !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM annotations a
      WHERE a.image_id = images.id AND a.category_id = @categoryId AND a.state != 'rejected')`);
    params.categoryId = query.categoryId;
  }
  if (query.stale !== undefined) {
    where.push(`${query.stale ? '' : 'NOT '}EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = images.id AND a.stale_width IS NOT NULL AND a.state != 'rejected')`);
  }
  if (query.search) {
    where.push(`path LIKE @search ESCAPE '\\'`);
    params.search = `%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  if (query.disagreements !== undefined) {
    where.push(`${query.disagreements ? '' : 'NOT '}EXISTS (SELECT 1 FROM comparison_images c
      WHERE c.image_id = images.id AND c.missed + c.extra + c.low_overlap > 0)`);
  }
  if (query.sort === 'uncertain') {
    // The cursor is [uncertainty, path] of the previous page's last image.
    const [score, path] = parseCursor(query.after);
    where[0] = '(uncertainty < @score OR (uncertainty = @score AND path > @after))';
    Object.assign(params, { score, after: path });
    return {
      sql: `SELECT * FROM (SELECT ${imageColumns}, ${UNCERTAINTY_SQL} AS uncertainty FROM images WHERE ${where.slice(1).join(' AND ') || '1'})
            WHERE ${where[0]} ORDER BY uncertainty DESC, path LIMIT @limit`,
      params,
    };
  }
  return {
    sql: `SELECT ${imageColumns} FROM images WHERE ${where.join(' AND ')} ORDER BY path LIMIT @limit`,
    params,
  };
}

function parseCursor(after: string | null | undefined): [number, string] {
  if (!after) return [Number.MAX_VALUE, ''];
  try {
    const [score, path] = JSON.parse(after) as unknown[];
    if (typeof score === 'number' && typeof path === 'string') return [score, path];
  } catch {
    // fall through
  }
  throw new InvalidInputError(`not a cursor of the uncertainty order: ${after.slice(0, 80)}`);
}
