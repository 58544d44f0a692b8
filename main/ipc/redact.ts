// Error replies name no local path: a path inside the open project is shown relative to it, any other absolute path
// as its file or folder name. The UI learns where things are only from what main chose to tell it.
import path from 'node:path';

/** Absolute paths with at least one folder: POSIX (`/a/b`), Windows drive (`C:\a\b`) and UNC (`\\host\share`). */
const ABSOLUTE_PATH = /(?<![\w.:/\\-])(?:\/[^\s'"`<>|:,;()[\]{}]+\/[^\s'"`<>|:,;()[\]{}]*|[A-Za-z]:[\\/][^\s'"`<>|:,;()[\]{}]*|\\\\[^\s'"`<>|:,;()[\]{}]+)/g;

/** How `file` is shown: relative to the project folder when inside it, else its last name. */
function shown(file: string, projectFolder: string | null): string {
  if (projectFolder !== null) {
    const relative = path.relative(projectFolder, file);
    if (relative === '') return path.basename(projectFolder);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) return relative.split(path.sep).join('/');
  }
  return file.split(/[\\/]/).filter(Boolean).at(-1) ?? file;
}

/**
 * `message` with its local paths replaced. `known` are paths the failure is about (an error's `path` or `file`), matched
 * whole first, so a name with spaces is replaced whole too; any other absolute path is found by its shape.
 */
export function redactPaths(message: string, projectFolder: string | null, known: readonly string[] = []): string {
  let out = message;
  const whole = [...new Set([...known.filter((p) => path.isAbsolute(p)), ...(projectFolder === null ? [] : [projectFolder])])];
  for (const file of whole.sort((a, b) => b.length - a.length)) {
    // The project folder as a prefix: what follows it is the path inside the project, shown as it is.
    const prefix = file === projectFolder ? `${file}${path.sep}` : null;
    if (prefix !== null) out = out.split(prefix).join('');
    out = out.split(file).join(shown(file, projectFolder));
  }
  return out.replace(ABSOLUTE_PATH, (match) => shown(match, projectFolder));
}

/** The paths an error says it is about: Node's `path`/`dest`, a FileError's `file`. */
export function pathsOf(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) return [];
  const fields = error as { path?: unknown; dest?: unknown; file?: unknown };
  return [fields.path, fields.dest, fields.file].filter((value): value is string => typeof value === 'string');
}
