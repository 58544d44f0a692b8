// Annotations imported into the open project (COCO, LabelMe, YOLO) as `loupe import --format` imports them, from a
// source main's own file dialog chose: the renderer never names a path.
import { FormatError, PROBLEMS_LISTED } from '../../app/formats/common.js';
import type { ImportFormat, Res } from '../../app/ipc/contract.js';
import { importAnnotations } from '../exchange/service.js';
import { FileError } from '../fs/fileError.js';
import type { FileService } from './files.js';
import type { ProjectService } from './project.js';

export interface ImportService {
  /**
   * Asks for the source and imports it whole. A refused input imports nothing and comes back with every problem
   * listed; a cancelled dialog imports nothing. A ConflictError where there is no dialog to ask with (a browser page).
   */
  annotations(format: ImportFormat): Promise<Res<'import.annotations'>>;
}

export function createImportService(project: ProjectService, files: FileService): ImportService {
  return {
    async annotations(format) {
      const store = project.require();
      const source = await files.chooseImportSource(format);
      const nothing = { imported: 0, images: 0, newCategories: [], alreadyPresent: 0, notes: [] };
      if (source === null) return { source, ...nothing, problems: [] };
      try {
        return { source, ...(await importAnnotations(store, format, source)), problems: [] };
      } catch (error) {
        const problems = problemsOf(error);
        if (problems === null) throw error;
        return { source, ...nothing, problems };
      }
    },
  };
}

/** Every problem of an input that was refused whole (nothing written), one line each; null for another failure. */
function problemsOf(error: unknown): string[] | null {
  if (error instanceof FormatError) {
    const listed = error.problems.slice(0, PROBLEMS_LISTED).map((p) => (p.where ? `${p.where}: ${p.reason}` : p.reason));
    const more = error.problems.length - listed.length;
    return more > 0 ? [...listed, `and ${more} more`] : listed;
  }
  if (error instanceof FileError) return [`${error.file}: ${error.reason}`, ...error.details];
  return null;
}
