import type { Database, Statement } from 'better-sqlite3';
import { ImageId, ModelId, RunId, type Annotation } from '../../app/model/index.js';
import type { AnnotationRepository, Prediction } from './annotations.js';

export const RUN_STATUSES = ['running', 'completed', 'cancelled', 'failed'] as const;

/**
 * SQL true for a row of `images` whose pre-label failed: an image in status 'error' because of a run, not because the
 * scan could not decode it (those are never pre-labeled). Such an image keeps its size, is tried again by the next
 * run, and can still be reviewed by hand.
 */
export const PRELABEL_FAILED = `EXISTS (SELECT 1 FROM prelabel_results r WHERE r.image_id = images.id AND r.ok = 0)`;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface PrelabelRun {
  readonly id: RunId;
  readonly modelId: ModelId;
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: RunStatus;
  readonly error: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

/** What a batch of outcomes wrote. */
export interface RecordedOutcomes {
  /** The predictions written, by image. */
  readonly written: Map<ImageId, Annotation[]>;
  /** Pending predictions of other models replaced by this batch. */
  readonly replaced: number;
  /** Images marked reviewed since the run began: nothing was written to them. */
  readonly skippedReviewed: ImageId[];
}

/** One image's outcome in a run: its predictions, or the reason it failed. */
export type ImageOutcome =
  | { readonly imageId: ImageId; readonly durationMs: number; readonly predictions: readonly Prediction[] }
  | { readonly imageId: ImageId; readonly durationMs: number; readonly error: string };

export interface PrelabelResult {
  readonly runId: RunId;
  readonly imageId: ImageId;
  readonly modelId: ModelId;
  readonly ok: boolean;
  readonly message: string | null;
  readonly instances: number;
  readonly durationMs: number | null;
}

interface RunRow {
  id: number;
  model_id: number;
  params: string;
  status: RunStatus;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

const toRun = (row: RunRow): PrelabelRun => ({
  id: RunId(row.id),
  modelId: ModelId(row.model_id),
  params: JSON.parse(row.params) as Record<string, unknown>,
  status: row.status,
  error: row.error,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

/**
 * Pre-label runs and their per-image results. Each image keeps exactly one result per model (the latest),
 * so a resumed or repeated run knows which images are still to do.
 */
export class PrelabelRepository {
  private readonly upsertResult: Statement;
  private readonly markPredicted: Statement<[number]>;
  private readonly markFailed: Statement<[string, number]>;
  private readonly statusOf: Statement<[number], { status: string }>;

  constructor(
    private readonly db: Database,
    private readonly annotations: AnnotationRepository,
  ) {
    this.upsertResult = db.prepare(`
      INSERT INTO prelabel_results (run_id, image_id, model_id, ok, message, instances, duration_ms)
      VALUES (@runId, @imageId, @modelId, @ok, @message, @instances, @durationMs)
      ON CONFLICT (model_id, image_id) DO UPDATE SET run_id = excluded.run_id, ok = excluded.ok,
        message = excluded.message, instances = excluded.instances, duration_ms = excluded.duration_ms,
        finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`);
    this.markPredicted = db.prepare(`
      UPDATE images SET status = 'predicted', error = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = ? AND (status = 'new' OR (status = 'error' AND ${PRELABEL_FAILED}))`);
    // An image nobody has worked on yet shows why its run failed; one already predicted or in review keeps its status
    // (its failure is in the run's results and `loupe stats`).
    this.markFailed = db.prepare(`
      UPDATE images SET status = 'error', error = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = ? AND (status = 'new' OR (status = 'error' AND ${PRELABEL_FAILED}))`);
    this.statusOf = db.prepare(`SELECT status FROM images WHERE id = ?`);
  }

  start(modelId: ModelId, params: Readonly<Record<string, unknown>> = {}): PrelabelRun {
    const row = this.db
      .prepare(`INSERT INTO prelabel_runs (model_id, params) VALUES (?, ?) RETURNING *`)
      .get(modelId, JSON.stringify(params)) as RunRow;
    return toRun(row);
  }

  finish(runId: RunId, status: Exclude<RunStatus, 'running'>, error: string | null = null): PrelabelRun {
    const row = this.db
      .prepare(
        `UPDATE prelabel_runs SET status = ?, error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ? RETURNING *`,
      )
      .get(status, error, runId) as RunRow | undefined;
    if (!row) throw new Error(`pre-label run ${runId} does not exist`);
    return toRun(row);
  }

  get(runId: RunId): PrelabelRun | undefined {
    const row = this.db.prepare(`SELECT * FROM prelabel_runs WHERE id = ?`).get(runId) as RunRow | undefined;
    return row && toRun(row);
  }

  list(): PrelabelRun[] {
    return (this.db.prepare(`SELECT * FROM prelabel_runs ORDER BY id`).all() as RunRow[]).map(toRun);
  }

  /**
   * Writes a batch of image outcomes in one transaction: each success replaces the image's pending predictions
   * (of any model: one pending set per image) and moves a 'new' image (or one whose earlier run failed) to
   * 'predicted'; each failure records its reason, and a 'new' image goes to 'error' with it. An image a person marked
   * reviewed while the run was going is left alone and reported.
   */
  recordOutcomes(runId: RunId, modelId: ModelId, outcomes: readonly ImageOutcome[]): RecordedOutcomes {
    return this.db.transaction((): RecordedOutcomes => {
      const written = new Map<ImageId, Annotation[]>();
      const skippedReviewed: ImageId[] = [];
      let replaced = 0;
      for (const outcome of outcomes) {
        const status = this.statusOf.get(outcome.imageId);
        if (!status) throw new Error(`image ${outcome.imageId} does not exist`);
        if (status.status === 'reviewed') {
          skippedReviewed.push(outcome.imageId);
          continue;
        }
        const ok = 'predictions' in outcome;
        let annotations: Annotation[] = [];
        if (ok) {
          const result = this.annotations.replaceModelPredictions(outcome.imageId, modelId, outcome.predictions);
          annotations = result.annotations;
          replaced += result.replaced;
          this.markPredicted.run(outcome.imageId);
        }
        this.upsertResult.run({
          runId,
          imageId: outcome.imageId,
          modelId,
          ok: ok ? 1 : 0,
          message: ok ? null : outcome.error,
          instances: annotations.length,
          durationMs: outcome.durationMs,
        });
        if (!ok) this.markFailed.run(outcome.error, outcome.imageId);
        written.set(outcome.imageId, annotations);
      }
      return { written, replaced, skippedReviewed };
    })();
  }

  /** The model of the project's latest run: the active model the app's picker and the CLI default to. */
  lastModel(): { readonly modelId: ModelId; readonly cardPath: string | null } | null {
    const row = this.db.prepare(`SELECT model_id, params FROM prelabel_runs ORDER BY id DESC LIMIT 1`).get() as
      | { model_id: number; params: string }
      | undefined;
    if (!row) return null;
    const cardPath = (JSON.parse(row.params) as { cardPath?: unknown }).cardPath;
    return { modelId: ModelId(row.model_id), cardPath: typeof cardPath === 'string' ? cardPath : null };
  }

  /**
   * Images still to pre-label with this model: present, decodable, not reviewed, and without a successful result
   * for it (failed ones are retried, status 'error' from a failed run included). Optionally limited to `imageIds`.
   * Ordered by path.
   */
  pendingImageIds(modelId: ModelId, imageIds?: readonly ImageId[]): ImageId[] {
    const rows = this.db
      .prepare(
        `SELECT id FROM images
         WHERE missing = 0 AND (status NOT IN ('error', 'reviewed') OR (status = 'error' AND ${PRELABEL_FAILED}))
           AND NOT EXISTS (SELECT 1 FROM prelabel_results r WHERE r.model_id = ? AND r.image_id = images.id AND r.ok = 1)
         ORDER BY path`,
      )
      .all(modelId) as { id: number }[];
    const ids = rows.map((r) => ImageId(r.id));
    if (!imageIds) return ids;
    const wanted = new Set<number>(imageIds);
    return ids.filter((id) => wanted.has(id));
  }

  /** Images in 'error' because a run failed on them (not because the scan could not read them). */
  failedImageIds(): Set<ImageId> {
    const rows = this.db.prepare(`SELECT id FROM images WHERE status = 'error' AND ${PRELABEL_FAILED}`).all() as { id: number }[];
    return new Set(rows.map((r) => ImageId(r.id)));
  }

  resultsForRun(runId: RunId): PrelabelResult[] {
    return (
      this.db.prepare(`SELECT * FROM prelabel_results WHERE run_id = ? ORDER BY id`).all(runId) as {
        run_id: number;
        image_id: number;
        model_id: number;
        ok: number;
        message: string | null;
        instances: number;
        duration_ms: number | null;
      }[]
    ).map((r) => ({
      runId: RunId(r.run_id),
      imageId: ImageId(r.image_id),
      modelId: ModelId(r.model_id),
      ok: r.ok === 1,
      message: r.message,
      instances: r.instances,
      durationMs: r.duration_ms,
    }));
  }
}
