// What a project database holds, as one digest: tests prove that a refusal changed nothing.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * sha256 of every row of every table (in rowid order) and the schema version: equal digests mean equal content,
 * whatever the file's page layout or WAL state. Opens its own read-only connection, so it sees committed data only.
 */
export function databaseDigest(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    hash.update(`user_version=${String(db.pragma('user_version', { simple: true }))}\n`);
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[];
    for (const { name } of tables) {
      hash.update(`table ${name}\n`);
      for (const row of db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).raw().iterate()) hash.update(`${JSON.stringify(row)}\n`);
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}
