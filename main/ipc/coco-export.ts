// `export.coco` over the one COCO export service (main/fs/cocoFiles.ts, which `loupe export` uses too): the
// reviewed truth by default, the default file under <project>/.loupe/exports.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { exportCocoFile } from '../fs/cocoFiles.js';
import type { ProjectStore } from '../store/index.js';
import type { CocoExporter } from './project-handlers.js';

/**
 * A name not yet taken in the project's export folder, `<project>/.loupe/exports/<format>-<time><extension>` (with
 * `-2`, `-3`… after the time when two exports share a millisecond); the folder is made.
 */
export async function exportDestination(store: ProjectStore, format: string, extension = ''): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const exports = path.join(store.folder, '.loupe', 'exports');
  await mkdir(exports, { recursive: true });
  for (let n = 1; ; n++) {
    const candidate = path.join(exports, `${format}-${stamp}${n > 1 ? `-${n}` : ''}${extension}`);
    if (!(await stat(candidate).catch(() => null))) return candidate;
  }
}

export const exportCoco: CocoExporter = async (store, request) => {
  const scope = request.scope ?? (request.reviewedOnly === false ? 'all' : 'reviewed');
  const target = request.path ?? (await exportDestination(store, 'coco', '.json'));
  const result = await exportCocoFile(store, target, {
    scope,
    polygons: request.segmentation === 'polygons',
    polygonsStrict: request.polygonsStrict,
    scores: request.scores,
    includePending: request.includePending,
  });
  return { ...result, leftOut: [...result.leftOut], staleLeftOut: [...result.staleLeftOut] };
};
