import type { Database } from 'better-sqlite3';

/** Project-wide values kept as JSON by key, such as the COCO `info` and `licenses` of the first imported file. */
export class MetaRepository {
  constructor(private readonly db: Database) {}

  get<T = unknown>(key: string): T | undefined {
    const row = this.db.prepare(`SELECT value FROM project_meta WHERE key = ?`).get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  set(key: string, value: unknown): void {
    this.db
      .prepare(`INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
      .run(key, JSON.stringify(value));
  }
}
