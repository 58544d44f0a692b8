import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { latestVersion, migrate, schemaVersion } from '../migrate.js';
import { openProject } from '../project.js';
import { migrations } from './index.js';

let folder: string;
let dbPath: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-003-'));
  dbPath = join(folder, 'project.db');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** A version-2 project as the previous release left it: a reviewed image that a later run gave pending predictions. */
function versionTwoProject(): void {
  const db = new Database(dbPath);
  migrate(db, migrations, 2);
  db.exec(`
    INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES ('a.jpg', 4, 4, 'h', 1, 0, 'reviewed');
    INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES ('b.jpg', 4, 4, 'i', 1, 0, 'predicted');
    INSERT INTO categories (name, color) VALUES ('cat', '#112233');
    INSERT INTO models (name, format, labels, card, path, sha256) VALUES ('m', 'torchvision-maskrcnn', '[]', '{}', '/m.onnx', 's');
    INSERT INTO annotations (id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width, score, origin, model_id, state, crowd)
      VALUES ('late', 1, 1, 0, 0, 2, 2, '04L0', 4, 4, 0.7, 'model', 1, 'pending', 1),
             ('edited', 1, 1, 0, 0, 1, 1, NULL, NULL, NULL, 0.9, 'model-edited', 1, 'pending', 0),
             ('kept', 1, 1, 1, 1, 1, 1, NULL, NULL, NULL, NULL, 'human', NULL, 'accepted', 0),
             ('open', 2, 1, 1, 1, 1, 1, NULL, NULL, NULL, 0.4, 'model', 1, 'pending', 0);
    INSERT INTO annotation_history (annotation_id, image_id, action, after, actor) VALUES ('kept', 1, 'created', '{}', 'human');
  `);
  db.close();
}

it('003 settles reviewed images that hold pending predictions, with history, and keeps the rest', () => {
  versionTwoProject();
  const store = openProject(folder, { dbPath });
  expect(schemaVersion(store.db)).toBe(latestVersion(migrations));
  const byId = Object.fromEntries(store.annotations.forImage(store.images.getByPath('a.jpg')!.id).map((a) => [a.id, a]));
  expect(byId.late).toMatchObject({ state: 'rejected', origin: 'model', crowd: true, mask: { size: [4, 4], counts: '04L0' } });
  expect(byId.edited).toMatchObject({ state: 'accepted', origin: 'model-edited' });
  expect(byId.kept).toMatchObject({ state: 'accepted' });
  // An image not reviewed keeps its pending prediction.
  expect(store.annotations.forImage(store.images.getByPath('b.jpg')!.id)[0]).toMatchObject({ id: 'open', state: 'pending' });

  const late = store.history.forAnnotation('late' as never);
  expect(late).toEqual([
    expect.objectContaining({
      action: 'rejected', actor: 'system',
      before: { ...byId.late, state: 'pending' },
      after: byId.late,
    }),
  ]);
  expect(store.history.forAnnotation('kept' as never)).toEqual([expect.objectContaining({ action: 'created', actor: 'human' })]);
  store.close();
});

it('003 enforces the rule from then on, and adds the COCO identity, stale, lock and metadata columns', () => {
  versionTwoProject();
  const store = openProject(folder, { dbPath });
  const { db } = store;
  expect(() => db.prepare(`UPDATE annotations SET state = 'pending' WHERE id = 'late'`).run()).toThrow(/a reviewed image cannot hold/);
  expect(() =>
    db.prepare(`INSERT INTO annotations (id, image_id, category_id, x, y, w, h, origin, model_id, state) VALUES ('x', 1, 1, 0, 0, 1, 1, 'model', 1, 'pending')`).run(),
  ).toThrow(/a reviewed image cannot hold/);
  expect(() => db.prepare(`UPDATE annotations SET stale_width = 4, stale_height = 4 WHERE id = 'kept'`).run()).toThrow(/a reviewed image cannot hold/);
  expect(() => db.prepare(`UPDATE images SET status = 'reviewed' WHERE path = 'b.jpg'`).run()).toThrow(/a reviewed image cannot hold/);
  expect(() => db.prepare(`UPDATE annotations SET stale_width = 4 WHERE id = 'open'`).run()).toThrow(/CHECK constraint failed/);
  db.prepare(`UPDATE annotations SET coco_id = 7 WHERE id = 'open'`).run();
  expect(() => db.prepare(`UPDATE annotations SET coco_id = 7 WHERE id = 'kept'`).run()).toThrow(/UNIQUE constraint failed/);
  db.prepare(`UPDATE images SET coco_id = 564, coco_extra = '{"license": 3}' WHERE path = 'a.jpg'`).run();
  db.prepare(`UPDATE categories SET coco_id = 13, coco_extra = '{"supercategory": "animal"}'`).run();
  db.prepare(`INSERT INTO project_meta (key, value) VALUES ('coco.info', '{"year": 2014}')`).run();
  db.prepare(`INSERT INTO run_lock (id, token, pid, host) VALUES (1, 't', 1, 'h')`).run();
  expect(() => db.prepare(`INSERT INTO run_lock (id, token, pid, host) VALUES (2, 't', 1, 'h')`).run()).toThrow(/CHECK constraint failed/);
  db.prepare(`INSERT INTO annotation_history (annotation_id, image_id, action, actor) VALUES ('open', 2, 'updated', 'system')`).run();
  expect(() => db.prepare(`INSERT INTO annotation_history (annotation_id, image_id, action, actor) VALUES ('open', 2, 'updated', 'robot')`).run()).toThrow(/CHECK/);
  store.close();
});
