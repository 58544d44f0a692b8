import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../migrate.js';
import { migrations } from './index.js';

let folder: string;
let db: Database.Database;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-001-'));
  db = new Database(join(folder, 'project.db'));
  db.pragma('foreign_keys = ON');
});
afterEach(() => {
  db.close();
  rmSync(folder, { recursive: true, force: true });
});

it('001 creates every table on an empty database (version 0)', () => {
  expect(schemaVersion(db)).toBe(0);
  migrate(db, migrations, 1);
  expect(schemaVersion(db)).toBe(1);
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
  expect(tables).toEqual([
    'annotation_history', 'annotations', 'categories', 'images', 'models', 'prelabel_results', 'prelabel_runs',
  ]);
});

it('001 enforces the enums, the mask columns and the foreign keys', () => {
  migrate(db, migrations, 1);
  const insertImage = db.prepare(
    `INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES (?, 1, 1, 'h', 1, 0, ?)`,
  );
  expect(() => insertImage.run('a.jpg', 'done')).toThrow(/CHECK constraint failed/);
  insertImage.run('a.jpg', 'new');
  db.prepare(`INSERT INTO categories (name, color) VALUES ('cat', '#112233')`).run();
  const insertAnnotation = db.prepare(
    `INSERT INTO annotations (id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width, origin, state)
     VALUES (?, ?, 1, 0, 0, 1, 1, ?, ?, ?, ?, ?)`,
  );
  expect(() => insertAnnotation.run('a', 1, null, null, null, 'robot', 'pending')).toThrow(/CHECK/);
  expect(() => insertAnnotation.run('a', 1, null, null, null, 'human', 'maybe')).toThrow(/CHECK/);
  expect(() => insertAnnotation.run('a', 1, 'xy', null, 4, 'human', 'pending')).toThrow(/CHECK/);
  expect(() => insertAnnotation.run('a', 1, null, null, null, 'model', 'pending')).toThrow(/CHECK/);
  expect(() => insertAnnotation.run('a', 99, null, null, null, 'human', 'pending')).toThrow(/FOREIGN KEY/);
  insertAnnotation.run('a', 1, 'xy', 4, 4, 'human', 'pending');
  expect(() =>
    db.prepare(`INSERT INTO annotation_history (annotation_id, image_id, action, actor) VALUES ('a', 1, 'moved', 'human')`).run(),
  ).toThrow(/CHECK/);
});

it('001 keeps the data when the database is opened and migrated again', () => {
  migrate(db, migrations, 1);
  db.prepare(`INSERT INTO categories (name, color) VALUES ('star', '#abcdef')`).run();
  db.close();
  db = new Database(join(folder, 'project.db'));
  migrate(db, migrations);
  expect(db.prepare(`SELECT name, color FROM categories`).all()).toEqual([{ name: 'star', color: '#abcdef' }]);
});
