import type { Database, Statement } from 'better-sqlite3';
import { AnnotationId, ImageId, type Annotation } from '../../app/model/index.js';

export const HISTORY_ACTIONS = ['created', 'updated', 'deleted', 'accepted', 'rejected'] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

/** Who made a change: a person (editor, CLI review, import), a model run writing its predictions, or the system (a rescan of a changed file). */
export type ChangeActor = 'human' | 'model' | 'system';

export interface HistoryEntry {
  readonly id: number;
  readonly annotationId: AnnotationId;
  readonly imageId: ImageId;
  readonly action: HistoryAction;
  /** The annotation before the change; null when it was created. */
  readonly before: Annotation | null;
  /** The annotation after the change; null when it was deleted. */
  readonly after: Annotation | null;
  readonly actor: ChangeActor;
  /** ISO 8601 time of the change. */
  readonly at: string;
}

interface HistoryRow {
  id: number;
  annotation_id: string;
  image_id: number;
  action: HistoryAction;
  before: string | null;
  after: string | null;
  actor: ChangeActor;
  at: string;
}

const toEntry = (row: HistoryRow): HistoryEntry => ({
  id: row.id,
  annotationId: AnnotationId(row.annotation_id),
  imageId: ImageId(row.image_id),
  action: row.action,
  before: row.before === null ? null : (JSON.parse(row.before) as Annotation),
  after: row.after === null ? null : (JSON.parse(row.after) as Annotation),
  actor: row.actor,
  at: row.at,
});

/**
 * The append-only log of every annotation change. A prediction's 'created' entry (actor 'model') keeps what
 * the model said; later entries by 'human' keep what the person made of it.
 */
export class HistoryRepository {
  private readonly insert: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare(`
      INSERT INTO annotation_history (annotation_id, image_id, action, before, after, actor)
      VALUES (?, ?, ?, ?, ?, ?)`);
  }

  /** Appends one entry; callers run it inside the transaction that makes the change. */
  record(action: HistoryAction, before: Annotation | null, after: Annotation | null, actor: ChangeActor): void {
    const subject = after ?? before;
    if (!subject) throw new Error('a history entry needs the annotation before or after the change');
    this.insert.run(
      subject.id,
      subject.imageId,
      action,
      before && JSON.stringify(before),
      after && JSON.stringify(after),
      actor,
    );
  }

  forAnnotation(id: AnnotationId): HistoryEntry[] {
    const rows = this.db
      .prepare(`SELECT * FROM annotation_history WHERE annotation_id = ? ORDER BY id`)
      .all(id) as HistoryRow[];
    return rows.map(toEntry);
  }

  forImage(imageId: ImageId): HistoryEntry[] {
    const rows = this.db
      .prepare(`SELECT * FROM annotation_history WHERE image_id = ? ORDER BY id`)
      .all(imageId) as HistoryRow[];
    return rows.map(toEntry);
  }
}
