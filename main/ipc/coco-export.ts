// `export.coco` over the store's COCO export (RLE masks, scores kept, atomic write); the default
// file goes under <project>/.loupe/exports.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { exportCocoFile } from '../fs/cocoFiles.js';
import type { CocoExporter } from './project-handlers.js';

export const exportCoco: CocoExporter = async (store, { path: target, reviewedOnly }) => {
  if (target === undefined) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const exports = path.join(store.folder, '.loupe', 'exports');
    await mkdir(exports, { recursive: true });
    return exportCocoFile(store, path.join(exports, `coco-${stamp}.json`), { all: true, scores: true });
  }
  return exportCocoFile(store, target, { all: !reviewedOnly, scores: true });
};
