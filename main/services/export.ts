// Exports of the open project: COCO through the one export service (main/fs/cocoFiles.ts, which `loupe export` uses
// too), the reviewed truth by default, to a file main chose or the default one under <project>/.loupe/exports.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CocoExportOptions } from '../../app/ipc/contract.js';
import { InvalidInputError } from '../../app/model/errors.js';
import { exportCocoFile, type CocoExportResult } from '../fs/cocoFiles.js';
import type { ProjectService } from './project.js';

export interface ExportService {
  /** Writes the COCO file (atomically) to `file`, or to `<project>/.loupe/exports/coco-<time>.json`. */
  coco(options: CocoExportOptions, file?: string): Promise<CocoExportResult>;
}

/** Where exports go when no file is named: inside the project's own folder. */
export function exportFolder(folder: string): string {
  return path.join(folder, '.loupe', 'exports');
}

export function createExportService(project: ProjectService): ExportService {
  return {
    async coco(options, file) {
      const store = project.require();
      if (file !== undefined && !file.toLowerCase().endsWith('.json')) throw new InvalidInputError(`export path must end in .json: ${file}`);
      let target = file;
      if (target === undefined) {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        await mkdir(exportFolder(store.folder), { recursive: true });
        target = path.join(exportFolder(store.folder), `coco-${stamp}.json`);
      }
      return exportCocoFile(store, target, {
        scope: options.scope,
        polygons: options.segmentation === 'polygons',
        polygonsStrict: options.polygonsStrict,
        scores: options.scores,
        includePending: options.includePending,
      });
    },
  };
}
