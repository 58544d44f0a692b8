// `export.coco` over the one COCO export service (main/fs/cocoFiles.ts, which `loupe export` uses too): the
// reviewed truth by default, the default file under <project>/.loupe/exports.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { exportCocoFile } from '../fs/cocoFiles.js';
import type { CocoExporter } from './project-handlers.js';

export const exportCoco: CocoExporter = async (store, request) => {
  const scope = request.scope ?? (request.reviewedOnly === false ? 'all' : 'reviewed');
  let target = request.path;
  if (target === undefined) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const exports = path.join(store.folder, '.loupe', 'exports');
    await mkdir(exports, { recursive: true });
    target = path.join(exports, `coco-${stamp}.json`);
  }
  const result = await exportCocoFile(store, target, {
    scope,
    polygons: request.segmentation === 'polygons',
    polygonsStrict: request.polygonsStrict,
    scores: request.scores,
    includePending: request.includePending,
  });
  return { ...result, leftOut: [...result.leftOut], staleLeftOut: [...result.staleLeftOut] };
};
