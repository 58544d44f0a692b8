import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../migrate.js';
import { openProject } from '../project.js';
import { migrations } from './index.js';
import { migration005 } from './005_learning.js';

let folder: string;
let dbPath: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'loupe-005-'));
  dbPath = join(folder, 'project.db');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

it('005 upgrades a project of the release before it, keeping its rows, and adds the learning tables empty', () => {
  const db = new Database(dbPath);
  migrate(db, migrations, migration005.version - 1);
  db.exec(`
    INSERT INTO images (path, width, height, hash, size, mtime_ms, status) VALUES ('a.jpg', 4, 4, 'h', 1, 0, 'reviewed');
    INSERT INTO categories (name, color) VALUES ('cat', '#112233');
    INSERT INTO models (name, format, labels, card, path, sha256) VALUES ('m', 'torchvision-maskrcnn', '[]', '{}', '/m.onnx', 's');
  `);
  db.close();

  const store = openProject(folder, { dbPath });
  expect(schemaVersion(store.db)).toBe(migration005.version);
  expect(store.images.getByPath('a.jpg')).toMatchObject({ status: 'reviewed' });
  for (const table of ['train_runs', 'model_versions', 'model_activations', 'model_evaluations', 'comparison_predictions', 'comparison_images']) {
    expect((store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n, table).toBe(0);
  }
  store.close();
});

it('005 refuses rows that break its rules', () => {
  const store = openProject(folder, { dbPath });
  store.db.exec(`
    INSERT INTO images (path, width, height, hash, size, mtime_ms) VALUES ('a.jpg', 4, 4, 'h', 1, 0);
    INSERT INTO categories (name, color) VALUES ('cat', '#112233');
    INSERT INTO models (name, format, labels, card, path, sha256) VALUES ('m', 'torchvision-maskrcnn', '[]', '{}', '/m.onnx', 's');
  `);
  const run = (version: number, stage = 'data', params = '{}') =>
    store.db.prepare(`INSERT INTO train_runs (name, family, version, dir, params, stage) VALUES ('m-v2', 'm', ?, 'd', ?, ?)`).run(version, params, stage);
  expect(() => run(1)).toThrow(/CHECK constraint failed/);
  expect(() => run(2, 'cooking')).toThrow(/CHECK constraint failed/);
  expect(() => run(2, 'data', 'not json')).toThrow(/CHECK constraint failed/);
  run(2);
  const version = (modelId: number, v: number) =>
    store.db.prepare(`INSERT INTO model_versions (model_id, family, version, card_path) VALUES (?, 'm', ?, 'm.json')`).run(modelId, v);
  version(1, 1);
  store.db.exec(`INSERT INTO models (name, format, labels, card, path, sha256) VALUES ('m-v1', 'torchvision-maskrcnn', '[]', '{}', '/n.onnx', 't')`);
  expect(() => version(2, 1)).toThrow(/UNIQUE constraint failed/);
  expect(() => version(99, 2)).toThrow(/FOREIGN KEY constraint failed/);
  const prediction = (counts: string | null, height: number | null) =>
    store.db.prepare(`INSERT INTO comparison_predictions (model_id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width, score)
      VALUES (1, 1, 1, 0, 0, 1, 1, ?, ?, 4, 0.5)`).run(counts, height);
  expect(() => prediction('04L0', null)).toThrow(/CHECK constraint failed/);
  prediction('04L0', 4);
  expect(() => store.db.prepare(`INSERT INTO comparison_images (image_id, model_id, matched, missed, extra, low_overlap) VALUES (1, 1, 0, -1, 0, 0)`).run())
    .toThrow(/CHECK constraint failed/);
  expect(() => store.db.prepare(`INSERT INTO model_evaluations (model_id, split, image_set, images, instances, threshold, metrics) VALUES (1, 'train', 'x', 1, 1, 0.5, '{}')`).run())
    .toThrow(/CHECK constraint failed/);
  store.close();
});
