import type { Database } from 'better-sqlite3';

/** One numbered schema step. Versions start at 1 and have no gaps; each runs in its own transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Raised when the database comes from a Loupe that knows more migrations than this build. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(`${file} was written by a newer Loupe (schema ${found}, this build knows up to ${known})`);
    this.name = 'SchemaTooNewError';
  }
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

/** Throws SchemaTooNewError unless this build can read the database's schema. */
export function assertKnownSchema(db: Database, migrations: readonly Migration[]): number {
  const found = schemaVersion(db);
  const known = latestVersion(migrations);
  if (found > known) throw new SchemaTooNewError(db.name, found, known);
  return found;
}

/**
 * Brings the database up to `target` (default: the newest migration), one transaction per migration,
 * recording each step in PRAGMA user_version so a failed step leaves the database at the last good one.
 */
export function migrate(db: Database, migrations: readonly Migration[], target = latestVersion(migrations)): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  const current = assertKnownSchema(db, migrations);
  for (const migration of migrations) {
    if (migration.version <= current || migration.version > target) continue;
    db.transaction(() => {
      // Another process opening the same new project may have applied it since we looked (two runs at once).
      if (schemaVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}
