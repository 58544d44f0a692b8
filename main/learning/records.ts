// The learning loop's rows in the project database (migration 006): training runs and their ownership, the model
// versions they made, activations, evaluations, and the comparison set. Plain repository code; what the rows mean
// is decided in the modules that use them.
import { hostname } from 'node:os';
import type { Database } from 'better-sqlite3';
import { CategoryId, ConflictError, ImageId, ModelId, type Bbox, type Rle } from '../../app/model/index.js';
import { processAlive } from '../store/index.js';
import type { ProjectStore } from '../store/index.js';

export const TRAIN_STAGES = ['data', 'train', 'export', 'score', 'done'] as const;
export type TrainStage = (typeof TRAIN_STAGES)[number];
export type TrainStatus = 'running' | 'interrupted' | 'failed' | 'completed';

export interface TrainRun {
  readonly id: number;
  /** NAME-vK: the version this run makes. */
  readonly name: string;
  readonly family: string;
  readonly version: number;
  /** The run's folder, relative to the project folder (.loupe/train/<id>-<name>). */
  readonly dir: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly fromModelId: ModelId | null;
  readonly status: TrainStatus;
  readonly stage: TrainStage;
  readonly error: string | null;
  readonly progress: Readonly<Record<string, unknown>> | null;
  readonly result: Readonly<Record<string, unknown>> | null;
  readonly modelId: ModelId | null;
  readonly pid: number | null;
  readonly host: string | null;
  readonly childPid: number | null;
  readonly heartbeatAt: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface ModelVersion {
  readonly modelId: ModelId;
  readonly family: string;
  readonly version: number;
  readonly parentModelId: ModelId | null;
  readonly trainRunId: number | null;
  readonly cardPath: string;
  readonly createdAt: string;
}

export interface Activation {
  readonly id: number;
  readonly modelId: ModelId;
  readonly cardPath: string;
  readonly reason: string;
  readonly at: string;
}

export interface StoredEvaluation {
  readonly id: number;
  readonly modelId: ModelId;
  readonly split: 'heldout' | 'all';
  readonly imageSet: string;
  readonly images: number;
  readonly instances: number;
  readonly threshold: number;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export interface ComparisonPrediction {
  readonly id: number;
  readonly modelId: ModelId;
  readonly imageId: ImageId;
  readonly categoryId: CategoryId;
  readonly bbox: Bbox;
  readonly mask: Rle | null;
  readonly score: number;
}

export interface ComparisonCounts {
  readonly matched: number;
  readonly missed: number;
  readonly extra: number;
  readonly lowOverlap: number;
}

/** Another live process holds the project's training run. */
export class TrainingLockedError extends ConflictError {
  override name = 'TrainingLockedError';
  constructor(readonly holder: TrainRun) {
    const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
    const at = new Date(holder.startedAt);
    const clock = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    super(`a training run is already in progress (${holder.name}, pid ${holder.pid}${where}, started ${clock})`);
  }
}

/** How long a run owned by another host lives without a heartbeat; owners beat every few seconds. */
const OTHER_HOST_STALE_MS = 60_000;
const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

interface TrainRow {
  id: number; name: string; family: string; version: number; dir: string; params: string; from_model_id: number | null;
  status: TrainStatus; stage: TrainStage; error: string | null; progress: string | null; result: string | null;
  model_id: number | null; pid: number | null; host: string | null; child_pid: number | null; heartbeat_at: string | null;
  started_at: string; finished_at: string | null;
}

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

const toRun = (r: TrainRow): TrainRun => ({
  id: r.id, name: r.name, family: r.family, version: r.version, dir: r.dir, params: JSON.parse(r.params) as Record<string, unknown>,
  fromModelId: r.from_model_id === null ? null : ModelId(r.from_model_id), status: r.status, stage: r.stage, error: r.error,
  progress: json(r.progress), result: json(r.result), modelId: r.model_id === null ? null : ModelId(r.model_id), pid: r.pid,
  host: r.host, childPid: r.child_pid, heartbeatAt: r.heartbeat_at, startedAt: r.started_at, finishedAt: r.finished_at,
});

export class LearningRecords {
  constructor(private readonly db: Database) {}

  // ---- training runs ----

  trainRun(id: number): TrainRun | undefined {
    const row = this.db.prepare(`SELECT * FROM train_runs WHERE id = ?`).get(id) as TrainRow | undefined;
    return row && toRun(row);
  }

  trainRuns(): TrainRun[] {
    return (this.db.prepare(`SELECT * FROM train_runs ORDER BY id`).all() as TrainRow[]).map(toRun);
  }

  /** The run marked running whose owner is alive (this process, another live process of this host, or a recent heartbeat). */
  liveTrainRun(): TrainRun | null {
    const rows = (this.db.prepare(`SELECT * FROM train_runs WHERE status = 'running' ORDER BY id DESC`).all() as TrainRow[]).map(toRun);
    return rows.find((run) => this.ownerAlive(run)) ?? null;
  }

  /**
   * Claims a training run for this process in one IMMEDIATE transaction: refuses while another live owner runs one
   * (TrainingLockedError), marks runs whose owner died as interrupted, then either takes `resume` over (an unfinished
   * run with the same settings) or inserts a new run from `create`.
   */
  claimTrainRun(
    pick: (unfinished: readonly TrainRun[]) => TrainRun | undefined,
    create: () => Omit<TrainRun, 'id' | 'status' | 'stage' | 'error' | 'progress' | 'result' | 'modelId' | 'pid' | 'host' | 'childPid' | 'heartbeatAt' | 'startedAt' | 'finishedAt'>,
  ): { run: TrainRun; resumed: boolean; orphanChildPid: number | null } {
    return this.db.transaction(() => {
      const live = this.liveTrainRun();
      if (live) throw new TrainingLockedError(live);
      let orphanChildPid: number | null = null;
      for (const run of this.trainRuns().filter((r) => r.status === 'running')) {
        if (run.childPid !== null && run.host === hostname() && processAlive(run.childPid)) orphanChildPid = run.childPid;
        this.db.prepare(`UPDATE train_runs SET status = 'interrupted', error = 'its process ended without finishing' WHERE id = ?`).run(run.id);
      }
      const unfinished = this.trainRuns().filter((r) => r.status !== 'completed');
      const resume = pick(unfinished);
      let id: number;
      if (resume) {
        id = resume.id;
        this.db.prepare(`UPDATE train_runs SET status = 'running', error = NULL, finished_at = NULL, pid = ?, host = ?, child_pid = NULL,
          heartbeat_at = ${NOW} WHERE id = ?`).run(process.pid, hostname(), id);
      } else {
        const fresh = create();
        id = Number(this.db.prepare(`INSERT INTO train_runs (name, family, version, dir, params, from_model_id, pid, host, heartbeat_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${NOW})`).run(fresh.name, fresh.family, fresh.version, fresh.dir, JSON.stringify(fresh.params),
          fresh.fromModelId, process.pid, hostname()).lastInsertRowid);
      }
      return { run: this.trainRun(id)!, resumed: resume !== undefined, orphanChildPid };
    }).immediate();
  }

  /** Records the run's stage, progress, child process, result or end; every write is also a heartbeat. */
  updateTrainRun(id: number, change: {
    stage?: TrainStage; progress?: Record<string, unknown> | null; childPid?: number | null; dir?: string;
    status?: TrainStatus; error?: string | null; result?: Record<string, unknown>; modelId?: ModelId;
  }): void {
    const set: string[] = [`heartbeat_at = ${NOW}`];
    const params: Record<string, unknown> = { id };
    const column = (name: string, key: string, value: unknown) => {
      set.push(`${name} = @${key}`);
      params[key] = value;
    };
    if (change.stage !== undefined) column('stage', 'stage', change.stage);
    if (change.progress !== undefined) column('progress', 'progress', change.progress === null ? null : JSON.stringify(change.progress));
    if (change.childPid !== undefined) column('child_pid', 'childPid', change.childPid);
    if (change.dir !== undefined) column('dir', 'dir', change.dir);
    if (change.error !== undefined) column('error', 'error', change.error);
    if (change.result !== undefined) column('result', 'result', JSON.stringify(change.result));
    if (change.modelId !== undefined) column('model_id', 'modelId', change.modelId);
    if (change.status !== undefined) {
      column('status', 'status', change.status);
      if (change.status !== 'running') set.push(`finished_at = ${NOW}`, 'child_pid = NULL');
    }
    if (this.db.open) this.db.prepare(`UPDATE train_runs SET ${set.join(', ')} WHERE id = @id`).run(params);
  }

  private ownerAlive(run: TrainRun): boolean {
    if (run.pid === null) return false;
    if (run.host !== hostname()) return run.heartbeatAt !== null && Date.now() - Date.parse(run.heartbeatAt) < OTHER_HOST_STALE_MS;
    return run.pid === process.pid || processAlive(run.pid);
  }

  // ---- versions and activations ----

  addVersion(version: Omit<ModelVersion, 'createdAt'>): void {
    this.db.prepare(`INSERT INTO model_versions (model_id, family, version, parent_model_id, train_run_id, card_path)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (model_id) DO UPDATE SET card_path = excluded.card_path`)
      .run(version.modelId, version.family, version.version, version.parentModelId, version.trainRunId, version.cardPath);
  }

  versions(): ModelVersion[] {
    const rows = this.db.prepare(`SELECT * FROM model_versions ORDER BY family, version`).all() as {
      model_id: number; family: string; version: number; parent_model_id: number | null; train_run_id: number | null; card_path: string; created_at: string;
    }[];
    return rows.map((r) => ({
      modelId: ModelId(r.model_id), family: r.family, version: r.version, parentModelId: r.parent_model_id === null ? null : ModelId(r.parent_model_id),
      trainRunId: r.train_run_id, cardPath: r.card_path, createdAt: r.created_at,
    }));
  }

  activate(modelId: ModelId, cardPath: string, reason: string): Activation {
    const id = Number(this.db.prepare(`INSERT INTO model_activations (model_id, card_path, reason) VALUES (?, ?, ?)`).run(modelId, cardPath, reason).lastInsertRowid);
    return this.activations().find((a) => a.id === id)!;
  }

  lastActivation(): Activation | null {
    return this.activations(1)[0] ?? null;
  }

  activations(limit = -1): Activation[] {
    const rows = this.db.prepare(`SELECT id, model_id, card_path, reason, at FROM model_activations ORDER BY id DESC LIMIT ?`).all(limit) as {
      id: number; model_id: number; card_path: string; reason: string; at: string;
    }[];
    return rows.map((r) => ({ id: r.id, modelId: ModelId(r.model_id), cardPath: r.card_path, reason: r.reason, at: r.at }));
  }

  // ---- evaluations ----

  addEvaluation(evaluation: Omit<StoredEvaluation, 'id' | 'createdAt'>): StoredEvaluation {
    const id = Number(this.db.prepare(`INSERT INTO model_evaluations (model_id, split, image_set, images, instances, threshold, metrics)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(evaluation.modelId, evaluation.split, evaluation.imageSet, evaluation.images, evaluation.instances,
      evaluation.threshold, JSON.stringify(evaluation.metrics)).lastInsertRowid);
    return this.evaluations().find((e) => e.id === id)!;
  }

  /** Every evaluation, newest first. */
  evaluations(): StoredEvaluation[] {
    const rows = this.db.prepare(`SELECT * FROM model_evaluations ORDER BY id DESC`).all() as {
      id: number; model_id: number; split: 'heldout' | 'all'; image_set: string; images: number; instances: number; threshold: number;
      metrics: string; created_at: string;
    }[];
    return rows.map((r) => ({
      id: r.id, modelId: ModelId(r.model_id), split: r.split, imageSet: r.image_set, images: r.images, instances: r.instances,
      threshold: r.threshold, metrics: JSON.parse(r.metrics) as Record<string, unknown>, createdAt: r.created_at,
    }));
  }

  // ---- the comparison set ----

  /** Replaces the comparison set with one model's predictions on these images (one transaction). */
  replaceComparison(modelId: ModelId, images: readonly { imageId: ImageId; predictions: readonly Omit<ComparisonPrediction, 'id' | 'modelId' | 'imageId'>[]; counts: ComparisonCounts }[]): void {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM comparison_predictions`).run();
      this.db.prepare(`DELETE FROM comparison_images`).run();
      const insert = this.db.prepare(`INSERT INTO comparison_predictions (model_id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width, score)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const image of images) {
        for (const p of image.predictions) {
          insert.run(modelId, image.imageId, p.categoryId, ...p.bbox, p.mask?.counts ?? null, p.mask?.size[0] ?? null, p.mask?.size[1] ?? null, p.score);
        }
        this.setComparisonCounts(image.imageId, modelId, image.counts);
      }
    })();
  }

  setComparisonCounts(imageId: ImageId, modelId: ModelId, counts: ComparisonCounts): void {
    this.db.prepare(`INSERT INTO comparison_images (image_id, model_id, matched, missed, extra, low_overlap) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (image_id, model_id) DO UPDATE SET matched = excluded.matched, missed = excluded.missed, extra = excluded.extra,
        low_overlap = excluded.low_overlap, compared_at = ${NOW}`)
      .run(imageId, modelId, counts.matched, counts.missed, counts.extra, counts.lowOverlap);
  }

  /** The model of the comparison set, or null when there is none. */
  comparisonModel(): ModelId | null {
    const row = this.db.prepare(`SELECT model_id FROM comparison_images LIMIT 1`).get() as { model_id: number } | undefined;
    return row ? ModelId(row.model_id) : null;
  }

  comparisonPredictions(imageId: ImageId): ComparisonPrediction[] {
    const rows = this.db.prepare(`SELECT * FROM comparison_predictions WHERE image_id = ? ORDER BY score DESC, id`).all(imageId) as {
      id: number; model_id: number; image_id: number; category_id: number; x: number; y: number; w: number; h: number;
      mask_counts: string | null; mask_height: number | null; mask_width: number | null; score: number;
    }[];
    return rows.map((r) => ({
      id: r.id, modelId: ModelId(r.model_id), imageId: ImageId(r.image_id), categoryId: CategoryId(r.category_id), bbox: [r.x, r.y, r.w, r.h],
      mask: r.mask_counts === null ? null : { size: [r.mask_height!, r.mask_width!], counts: r.mask_counts }, score: r.score,
    }));
  }

  comparisonCounts(imageId: ImageId): ComparisonCounts | null {
    const row = this.db.prepare(`SELECT matched, missed, extra, low_overlap FROM comparison_images WHERE image_id = ?`).get(imageId) as
      { matched: number; missed: number; extra: number; low_overlap: number } | undefined;
    return row ? { matched: row.matched, missed: row.missed, extra: row.extra, lowOverlap: row.low_overlap } : null;
  }
}

/** The learning records of an open project (its database is already at migration 006). */
export function learningRecords(store: ProjectStore): LearningRecords {
  return new LearningRecords(store.db);
}
