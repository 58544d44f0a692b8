import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { AnnotationId, type Annotation, type CategoryId, type ImageId } from '../../app/model/index.js';
import type { ImageFile } from './images.js';
import { openProject, type ProjectStore } from './project.js';

/** A project in a fresh temporary folder, for tests and benchmarks; `dispose` closes it and removes the folder. */
export function temporaryProject(): { store: ProjectStore; folder: string; dispose: () => void } {
  const folder = mkdtempSync(join(tmpdir(), 'loupe-store-'));
  const store = openProject(folder);
  return {
    store,
    folder,
    dispose: () => {
      if (store.db.open) store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

export function imageFile(path: string, overrides: Partial<ImageFile> = {}): ImageFile {
  return { path, width: 64, height: 48, orientation: 1, hash: `hash-of-${path}`, size: 1000, mtimeMs: 0, error: null, ...overrides };
}

export function humanBox(imageId: ImageId, categoryId: CategoryId, bbox: [number, number, number, number] = [1, 2, 3, 4]): Annotation {
  return {
    id: AnnotationId(randomUUID()),
    imageId,
    categoryId,
    bbox,
    mask: null,
    score: null,
    origin: 'human',
    modelId: null,
    state: 'pending',
  };
}

/** sha256 of every table's rows in order (the schema's too): equal hashes mean nothing in the database changed. */
export function databaseHash(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    const tables = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string; sql: string }[];
    for (const { name, sql } of tables) {
      hash.update(sql);
      for (const row of db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).iterate()) hash.update(JSON.stringify(row));
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}
