// The paths the UI may use, and only those: main hands each one out as an opaque handle (a folder it chose with its
// own dialog, on the command line, in Open Recent or from a drop; a file chosen in its dialog for one purpose), keeps
// the path, and gives it back only for a handle it issued for that same purpose. Whatever names a path in a request
// is refused before a file is touched.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FilePurpose, GrantedPath, ImportFormat, PathHandle } from '../../app/ipc/contract.js';
import { ConflictError, NotFoundError } from '../../app/model/errors.js';

/** What a handle is good for: a project folder, or one of files.choose's purposes. */
export type GrantPurpose = 'project-folder' | FilePurpose;

/** What main's file dialog is asked for: files.choose's purposes, and an annotation import's source. */
export type DialogPurpose = FilePurpose | `import-${ImportFormat}`;

/**
 * Main's own file dialog: the absolute path chosen for `purpose`, or null when the person cancelled. `projectFolder`
 * is where it may start.
 */
export type FileChooser = (purpose: DialogPurpose, projectFolder: string | null) => Promise<string | null>;

export interface FileService {
  /** Hands out `file` (an absolute path main chose) for `purpose`; the same path and purpose keep one handle. */
  grant(purpose: GrantPurpose, file: string): GrantedPath;
  /** The path behind `handle`; a NotFoundError when main did not hand it out for `purpose`. */
  resolve(purpose: GrantPurpose, handle: PathHandle): string;
  /**
   * Asks main's dialog for a file and hands it out; null when cancelled. A ConflictError where main has no dialog (a
   * browser page over `loupe serve`), naming the command line that does the same.
   */
  choose(purpose: FilePurpose): Promise<GrantedPath | null>;
  /** Asks main's dialog for an annotation import's source (used at once, never handed out); the same refusal. */
  chooseImportSource(format: ImportFormat): Promise<string | null>;
  /** Every path handed out so far. */
  granted(): string[];
}

/** What to do instead where there is no dialog to ask with. */
const WITHOUT_DIALOG: Readonly<Record<DialogPurpose, string>> = {
  'export-coco': 'choosing where to save an export needs the desktop app\'s file dialog: leave it to write into the project\'s .loupe/exports, or run `loupe export <folder> --format coco --out FILE`',
  'model-onnx': 'importing a model needs the desktop app\'s file dialog; run `loupe serve <folder> --model CARD.json` to offer a model here',
  'model-card': 'importing a model needs the desktop app\'s file dialog; run `loupe serve <folder> --model CARD.json` to offer a model here',
  'model-yaml': 'importing a model needs the desktop app\'s file dialog; run `loupe serve <folder> --model CARD.json` to offer a model here',
  'import-coco': 'importing annotations needs the desktop app\'s file dialog; run `loupe import <folder> --format coco <file>`',
  'import-labelme': 'importing annotations needs the desktop app\'s file dialog; run `loupe import <folder> --format labelme <folder of files>`',
  'import-yolo': 'importing annotations needs the desktop app\'s file dialog; run `loupe import <folder> --format yolo <data.yaml>`',
};

export function createFileService(chooser: FileChooser | undefined, projectFolder: () => string | null): FileService {
  const granted = new Map<string, { readonly purpose: GrantPurpose; readonly file: string }>();
  const issued = new Map<string, PathHandle>();

  async function ask(purpose: DialogPurpose): Promise<string | null> {
    if (!chooser) throw new ConflictError(`not available in the browser: ${WITHOUT_DIALOG[purpose]}`);
    const chosen = await chooser(purpose, projectFolder());
    return chosen === null ? null : path.resolve(chosen);
  }

  const service: FileService = {
    grant(purpose, file) {
      const key = `${purpose}\0${file}`;
      let handle = issued.get(key);
      if (handle === undefined) {
        handle = randomBytes(16).toString('base64url') as PathHandle;
        issued.set(key, handle);
        granted.set(handle, { purpose, file });
      }
      return { handle, name: path.basename(file) || file };
    },
    resolve(purpose, handle) {
      const entry = granted.get(handle);
      if (!entry || entry.purpose !== purpose) {
        throw new NotFoundError(`${purpose}: this handle was not handed out by Loupe for it; choose the ${purpose === 'project-folder' ? 'folder' : 'file'} again`);
      }
      return entry.file;
    },
    async choose(purpose) {
      const chosen = await ask(purpose);
      return chosen === null ? null : service.grant(purpose, chosen);
    },
    chooseImportSource: (format) => ask(`import-${format}`),
    granted: () => [...new Set([...granted.values()].map((entry) => entry.file))],
  };
  return service;
}
