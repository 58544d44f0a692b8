import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { diffOf } from '../../../app/history/diff.js';
import { AnnotationId, ImageId, ModelId, type Annotation } from '../../../app/model/index.js';
import { latestVersion, migrate, schemaVersion } from '../migrate.js';
import { openProject } from '../project.js';
import { migrations } from './index.js';

let folder: string;
let dbPath: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-004-'));
  dbPath = join(folder, 'project.db');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** A version-3 project: annotations of every origin it knew, made in an order that is not their ids' order. */
function versionThreeProject(): void {
  const db = new Database(dbPath);
  migrate(db, migrations, 3);
  db.exec(`
    INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES ('a.jpg', 4, 4, 'h', 1, 0, 'predicted');
    INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES ('b.jpg', 4, 4, 'i', 1, 0, 'reviewed');
    INSERT INTO categories (name, color) VALUES ('cat', '#112233');
    INSERT INTO models (name, format, labels, card, path, sha256) VALUES ('m', 'torchvision-maskrcnn', '[]', '{}', '/m.onnx', 's');
    INSERT INTO annotations (id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width, score, origin, model_id,
        state, crowd, stale_width, stale_height, coco_id)
      VALUES ('z-first', 1, 1, 0, 0, 2, 2, '04L0', 4, 4, 0.7, 'model', 1, 'pending', 1, NULL, NULL, 17),
             ('a-second', 1, 1, 0.5, 0.25, 1, 1, NULL, NULL, NULL, 0.9, 'model-edited', 1, 'accepted', 0, 8, 6, NULL),
             ('m-third', 1, 1, 1, 1, 1, 1, NULL, NULL, NULL, NULL, 'human', NULL, 'accepted', 0, NULL, NULL, NULL);
  `);
  db.close();
}

const prompted = (imageId: number, state: Annotation['state']): Annotation => ({
  id: AnnotationId(`p-${imageId}-${state}`), imageId: ImageId(imageId), categoryId: 1 as Annotation['categoryId'], bbox: [0, 0, 2, 2],
  mask: null, score: 0.8, origin: 'prompted', modelId: ModelId(1), state,
});

it('004 keeps every annotation, in the order they were made, and now stores prompted ones', () => {
  versionThreeProject();
  const before = new Database(dbPath);
  const rows = before.prepare('SELECT rowid, * FROM annotations ORDER BY rowid').all();
  before.close();

  const store = openProject(folder, { dbPath });
  expect(schemaVersion(store.db)).toBe(latestVersion(migrations));
  expect(store.db.prepare('SELECT rowid, * FROM annotations ORDER BY rowid').all()).toEqual(rows);
  const a = store.images.getByPath('a.jpg')!.id;
  expect(store.annotations.forImage(a).map((x) => x.id)).toEqual(['z-first', 'a-second', 'm-third']);
  expect(store.annotations.get(AnnotationId('a-second'))).toMatchObject({ stale: { width: 8, height: 6 }, origin: 'model-edited' });

  store.annotations.apply(a, diffOf({ added: [prompted(a, 'pending')] }));
  expect(store.annotations.get(AnnotationId(`p-${a}-pending`))).toMatchObject({ origin: 'prompted', modelId: 1, score: 0.8 });
  // A prompted instance names its model, as a prediction does.
  expect(() => store.db.prepare(`UPDATE annotations SET model_id = NULL WHERE origin = 'prompted'`).run()).toThrow(/CHECK constraint failed/);
  expect(() => store.db.prepare(`UPDATE annotations SET origin = 'guessed'`).run()).toThrow(/CHECK constraint failed/);
  store.close();
});

it('004 brings back the indexes and the reviewed-image rules of 003', () => {
  versionThreeProject();
  const store = openProject(folder, { dbPath });
  const names = (type: string) =>
    (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`).all(type) as { name: string }[]).map((r) => r.name);
  expect(names('index')).toEqual(expect.arrayContaining(['annotations_category_state', 'annotations_coco_id', 'annotations_image_category', 'annotations_model']));
  expect(names('trigger')).toEqual(['annotations_reviewed_insert', 'annotations_reviewed_update', 'images_reviewed_settled']);
  expect(names('table')).not.toContain('annotations_new');

  const reviewed = store.images.getByPath('b.jpg')!.id;
  expect(() => store.annotations.apply(reviewed, diffOf({ added: [prompted(reviewed, 'pending')] }))).toThrow(/reviewed image cannot hold a pending/);
  store.annotations.apply(reviewed, diffOf({ added: [prompted(reviewed, 'accepted')] }));
  const open = store.images.getByPath('a.jpg')!.id;
  store.annotations.apply(open, diffOf({ added: [prompted(open, 'pending')] }));
  expect(() => store.db.prepare(`UPDATE images SET status = 'reviewed' WHERE id = ?`).run(open)).toThrow(/reviewed image cannot hold a pending/);
  expect(() => store.db.prepare(`UPDATE annotations SET coco_id = 17 WHERE id = 'm-third'`).run()).toThrow(/UNIQUE constraint failed/);
  expect(store.db.pragma('foreign_key_check')).toEqual([]);
  expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
  store.close();
});
