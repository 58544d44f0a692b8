// The database a released Loupe wrote is the fixture every later migration must upgrade without loss.
// fixtures/release-0.1.0.db was written by Loupe 0.1.0 (schema 2, commit a19933b): the sample folder scanned,
// pre-labelled with the shipped model, resources/samples/annotations.json imported, then on street.jpg one
// prediction accepted, one rejected, one reclassified, a person's annotation marked crowd and the image reviewed,
// and on garden.jpg one prediction deleted.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { latestVersion, schemaVersion } from '../migrate.js';
import { openProject } from '../project.js';
import { migrations } from './index.js';

const RELEASE = fileURLToPath(new URL('./fixtures/release-0.1.0.db', import.meta.url));

let folder: string;
let dbPath: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-release-db-'));
  dbPath = join(folder, 'project.db');
  copyFileSync(RELEASE, dbPath);
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

interface StoredAnnotation {
  id: string; image_id: number; category_id: number; x: number; y: number; w: number; h: number;
  mask_counts: string | null; score: number | null; origin: string; state: string; crowd: number;
}

function readRelease() {
  const db = new Database(dbPath, { readonly: true });
  try {
    return {
      version: schemaVersion(db),
      images: db.prepare('SELECT id, path, width, height FROM images ORDER BY id').all(),
      categories: db.prepare('SELECT id, name, color FROM categories ORDER BY id').all(),
      annotations: db.prepare(
        'SELECT id, image_id, category_id, x, y, w, h, mask_counts, score, origin, state, crowd FROM annotations ORDER BY id',
      ).all() as StoredAnnotation[],
      history: (db.prepare('SELECT count(*) AS n FROM annotation_history').get() as { n: number }).n,
      reviewed: new Set((db.prepare(`SELECT id FROM images WHERE status = 'reviewed'`).all() as { id: number }[]).map((r) => r.id)),
    };
  } finally {
    db.close();
  }
}

it('upgrades the 0.1.0 release database to the newest schema, keeping every image, class, annotation and history entry', () => {
  const before = readRelease();
  expect(before.version).toBe(2);
  expect(before.annotations.length).toBeGreaterThan(100);
  expect(new Set(before.annotations.map((a) => a.state))).toEqual(new Set(['pending', 'accepted', 'rejected']));

  const store = openProject(folder, { dbPath });
  try {
    expect(schemaVersion(store.db)).toBe(latestVersion(migrations));
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    expect(store.db.prepare('SELECT id, path, width, height FROM images ORDER BY id').all()).toEqual(before.images);
    expect(store.db.prepare('SELECT id, name, color FROM categories ORDER BY id').all()).toEqual(before.categories);
    expect((store.db.prepare('SELECT count(*) AS n FROM annotation_history').get() as { n: number }).n).toBeGreaterThanOrEqual(before.history);
    // Every annotation reads back through today's repository as it was stored, except that a reviewed image holds
    // no pending prediction any more (migration 003 settles them: the model's rejected, a person's edits accepted).
    expect(before.annotations.some((a) => before.reviewed.has(a.image_id) && a.state === 'pending')).toBe(true);
    for (const row of before.annotations) {
      const settled = before.reviewed.has(row.image_id) && row.state === 'pending';
      const state = settled ? (row.origin === 'model' ? 'rejected' : 'accepted') : row.state;
      expect(store.annotations.get(row.id as never)).toMatchObject({
        id: row.id,
        imageId: row.image_id,
        categoryId: row.category_id,
        bbox: [row.x, row.y, row.w, row.h],
        score: row.score,
        origin: row.origin,
        state,
        ...(row.mask_counts === null ? { mask: null } : { mask: { counts: row.mask_counts } }),
        ...(row.crowd === 1 ? { crowd: true } : {}),
      });
    }
  } finally {
    store.close();
  }
});
