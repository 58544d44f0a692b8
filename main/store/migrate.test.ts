import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, schemaVersion, SchemaTooNewError, type Migration } from './migrate.js';
import { migrations } from './migrations/index.js';
import { openProject } from './project.js';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-migrate-'));
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

describe('migrate', () => {
  it('brings a new database to the latest schema and records it in user_version', () => {
    const store = openProject(folder);
    expect(schemaVersion(store.db)).toBe(migrations.length);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.dbPath).toBe(join(folder, '.loupe', 'project.db'));
    store.close();
  });

  it('refuses a database written by a newer Loupe, naming the file and both versions', () => {
    const dbPath = join(folder, 'future.db');
    const db = new Database(dbPath);
    db.pragma(`user_version = ${migrations.length + 3}`);
    db.close();
    expect(() => openProject(folder, { dbPath })).toThrow(SchemaTooNewError);
    expect(() => openProject(folder, { dbPath })).toThrow(
      `${dbPath} was written by a newer Loupe (schema ${migrations.length + 3}, this build knows up to ${migrations.length})`,
    );
  });

  it('rolls a failing migration back and stays at the last good version', () => {
    const db = new Database(join(folder, 'x.db'));
    const steps: Migration[] = [
      { version: 1, name: 'one', sql: 'CREATE TABLE t (a INTEGER)' },
      { version: 2, name: 'two', sql: 'CREATE TABLE u (b INTEGER); INSERT INTO nowhere VALUES (1);' },
    ];
    expect(() => migrate(db, steps)).toThrow(/no such table: nowhere/);
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'u'`).get()).toBeUndefined();
    db.close();
  });

  it('rejects migrations whose versions have a gap', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 2, name: 'two', sql: '' }])).toThrow(/expected 1/);
    db.close();
  });

  it('opens read-only without creating or migrating anything', () => {
    expect(() => openProject(folder, { readonly: true })).toThrow();
    openProject(folder).close();
    const store = openProject(folder, { readonly: true });
    expect(store.images.count()).toBe(0);
    expect(() => store.categories.create('x')).toThrow(/readonly/);
    store.close();
  });
});
