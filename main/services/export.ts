// Exports of the open project, the reviewed truth by default (main/store/truth.ts): COCO through the one export
// service (main/fs/cocoFiles.ts, which `loupe export` uses too), to a file main's dialog chose or a new one under
// <project>/.loupe/exports; YOLO, Pascal VOC and LabelMe through main/exchange/service.ts (`loupe export --format`),
// into a new folder there or, for LabelMe, beside the images.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CocoExportOptions, DatasetExportFormat, DatasetExportOptions, Res } from '../../app/ipc/contract.js';
import { InvalidInputError } from '../../app/model/errors.js';
import { exportDataset } from '../exchange/service.js';
import { exportCocoFile, type CocoExportResult } from '../fs/cocoFiles.js';
import type { ProjectService } from './project.js';

export interface ExportService {
  /**
   * Writes the COCO file (atomically) to `file` (a path main chose: its save dialog, or the command line), or to
   * `<project>/.loupe/exports/coco-<time>.json`.
   */
  coco(options: CocoExportOptions, file?: string): Promise<CocoExportResult>;
  /**
   * Writes a YOLO or VOC dataset, or LabelMe files, into `<project>/.loupe/exports/<format>-<time>` (LabelMe files
   * beside the images with `besideImages`). A file or format problem (FileError, FormatError) is thrown as it is.
   */
  dataset(format: DatasetExportFormat, options: DatasetExportOptions): Promise<Res<'export.dataset'>>;
}

/** Where exports go when no file is named: inside the project's own folder. */
export function exportFolder(folder: string): string {
  return path.join(folder, '.loupe', 'exports');
}

/**
 * A name not yet taken in the project's export folder, `<format>-<time><extension>` (with `-2`, `-3`… after the
 * time when two exports share a millisecond); the folder is made.
 */
export async function exportDestination(folder: string, format: string, extension = ''): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const exports = exportFolder(folder);
  await mkdir(exports, { recursive: true });
  for (let n = 1; ; n++) {
    const candidate = path.join(exports, `${format}-${stamp}${n > 1 ? `-${n}` : ''}${extension}`);
    if (!(await stat(candidate).catch(() => null))) return candidate;
  }
}

export function createExportService(project: ProjectService): ExportService {
  return {
    async coco(options, file) {
      const store = project.require();
      if (file !== undefined && !file.toLowerCase().endsWith('.json')) throw new InvalidInputError(`export path must end in .json: ${file}`);
      const target = file ?? (await exportDestination(store.folder, 'coco', '.json'));
      return exportCocoFile(store, target, {
        scope: options.scope,
        polygons: options.segmentation === 'polygons',
        polygonsStrict: options.polygonsStrict,
        scores: options.scores,
        includePending: options.includePending,
      });
    },

    async dataset(format, options) {
      const store = project.require();
      const beside = format === 'labelme' && options.besideImages;
      const out = beside ? null : await exportDestination(store.folder, format);
      const { summary: _summary, ...result } = await exportDataset(store, format, out, { ...options, besideImages: beside });
      return result;
    },
  };
}
