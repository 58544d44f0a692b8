import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openProject } from '../project.js';
import { latestVersion, migrate, schemaVersion } from '../migrate.js';
import { migrations } from './index.js';

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-002-'));
});
afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

it('002 upgrades a version-1 project: its annotations read back as single objects, crowd is 0 or 1 only', () => {
  const dbPath = join(folder, 'project.db');
  const db = new Database(dbPath);
  migrate(db, migrations, 1);
  db.prepare(`INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES ('a.jpg', 4, 4, 'h', 1, 0, 'new')`).run();
  db.prepare(`INSERT INTO categories (name, color) VALUES ('cat', '#112233')`).run();
  db.prepare(
    `INSERT INTO annotations (id, image_id, category_id, x, y, w, h, origin, state) VALUES ('old', 1, 1, 0, 0, 2, 2, 'human', 'accepted')`,
  ).run();
  db.close();

  const store = openProject(folder, { dbPath });
  expect(schemaVersion(store.db)).toBe(latestVersion(migrations));
  const [old] = store.annotations.forImage(store.images.getByPath('a.jpg')!.id);
  expect(old).toMatchObject({ id: 'old', bbox: [0, 0, 2, 2], state: 'accepted' });
  expect(old).not.toHaveProperty('crowd');
  expect(() => store.db.prepare(`UPDATE annotations SET crowd = 2`).run()).toThrow(/CHECK constraint failed/);
  store.close();
});
