import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Update } from '../../app/history/diff.js';
import { AnnotationId, type Annotation, type CategoryId, type ImageId } from '../../app/model/index.js';
import type { ImageFile } from './images.js';
import { openProject, type ProjectStore } from './project.js';

/** A project in a fresh temporary folder; `dispose` closes it and removes the folder. */
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

/** An update of a stored annotation to `after`, made against what the store holds (as a client that loaded it). */
export function updateOf(annotations: { get(id: AnnotationId): Annotation | undefined }, after: Annotation): Update<Annotation> {
  const before = annotations.get(after.id);
  if (!before) throw new Error(`annotation ${after.id} is not stored`);
  return { before, after };
}
