// `export.coco` over the store's COCO export (RLE masks, scores kept, atomic write); the default
// file goes under <project>/.loupe/exports.
import path from 'node:path';
import { exportCocoFile } from '../fs/cocoFiles.js';
import type { CocoExporter } from './project-handlers.js';

export const exportCoco: CocoExporter = (store, { path: target, reviewedOnly }) => {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = target ?? path.join(store.folder, '.loupe', 'exports', `coco-${stamp}.json`);
  return exportCocoFile(store, file, { all: !reviewedOnly, scores: true });
};
