import type { Database } from 'better-sqlite3';
import { ModelId, type ModelFormat, type ModelRecord } from '../../app/model/index.js';

export interface NewModel {
  readonly name: string;
  readonly format: ModelFormat;
  readonly labels: readonly string[];
  readonly card: Readonly<Record<string, unknown>>;
  readonly path: string;
  /** sha256 of the .onnx file: the same weights are one model however often they are added. */
  readonly sha256: string;
}

export interface StoredModel extends ModelRecord {
  readonly sha256: string;
}

interface ModelRow {
  id: number;
  name: string;
  format: ModelFormat;
  labels: string;
  card: string;
  path: string;
  sha256: string;
}

const toModel = (row: ModelRow): StoredModel => ({
  id: ModelId(row.id),
  name: row.name,
  format: row.format,
  labels: JSON.parse(row.labels) as string[],
  card: JSON.parse(row.card) as Record<string, unknown>,
  path: row.path,
  sha256: row.sha256,
});

const columns = 'id, name, format, labels, card, path, sha256';

export class ModelRepository {
  constructor(private readonly db: Database) {}

  list(): StoredModel[] {
    return (this.db.prepare(`SELECT ${columns} FROM models ORDER BY id`).all() as ModelRow[]).map(toModel);
  }

  get(id: ModelId): StoredModel | undefined {
    const row = this.db.prepare(`SELECT ${columns} FROM models WHERE id = ?`).get(id) as ModelRow | undefined;
    return row && toModel(row);
  }

  getBySha256(sha256: string): StoredModel | undefined {
    const row = this.db.prepare(`SELECT ${columns} FROM models WHERE sha256 = ?`).get(sha256) as ModelRow | undefined;
    return row && toModel(row);
  }

  /**
   * Registers a model, or returns the one with the same weights (sha256), refreshing its name, card and
   * path so a moved file is found again.
   */
  register(model: NewModel): StoredModel {
    const row = this.db
      .prepare(
        `INSERT INTO models (name, format, labels, card, path, sha256)
         VALUES (@name, @format, @labels, @card, @path, @sha256)
         ON CONFLICT (sha256) DO UPDATE SET name = excluded.name, format = excluded.format,
           labels = excluded.labels, card = excluded.card, path = excluded.path
         RETURNING ${columns}`,
      )
      .get({ ...model, labels: JSON.stringify(model.labels), card: JSON.stringify(model.card) }) as ModelRow;
    return toModel(row);
  }
}
