// Resolves a path that arrived in a URL to a real file inside one folder, or refuses it: the one confinement check
// of the image protocol (Electron's loupe-image://, the bridge's /files and /thumbs) and of the renderer's files.
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isImageFileName } from '../fs/imageFiles.js';

export type RefusalReason =
  | 'malformed-encoding'
  | 'nul-byte'
  | 'absolute'
  | 'backslash'
  | 'traversal'
  | 'empty-segment'
  | 'outside-root'
  | 'not-a-file'
  | 'not-found'
  | 'not-an-image';

/** Why a requested path was not served; `status` is the HTTP status a protocol handler answers with. */
export class UnsafePathError extends Error {
  readonly status: 403 | 404;
  constructor(
    readonly requestPath: string,
    readonly reason: RefusalReason,
  ) {
    super(`Refused path "${requestPath}": ${reason}`);
    this.name = 'UnsafePathError';
    this.status = reason === 'not-found' ? 404 : 403;
  }
}

/**
 * Checks a URL path (still percent-encoded, relative to the project folder, '/'-separated) and
 * returns its decoded segments. Decodes exactly once, so "%252e%252e" is the literal name "%2e%2e",
 * never "..". Pure: touches no file system.
 */
export function relativeSegments(encodedPath: string): string[] {
  if (encodedPath.startsWith('/')) {
    throw new UnsafePathError(encodedPath, 'absolute');
  }
  return encodedPath.split('/').map((encoded, index) => {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      throw new UnsafePathError(encodedPath, 'malformed-encoding');
    }
    if (index === 0 && /^[a-zA-Z]:/.test(segment)) throw new UnsafePathError(encodedPath, 'absolute');
    if (segment.includes('\0')) throw new UnsafePathError(encodedPath, 'nul-byte');
    // A decoded '/' or '\' would let one URL segment smuggle several path segments, or an absolute path.
    if (segment.includes('/')) throw new UnsafePathError(encodedPath, segment.startsWith('/') ? 'absolute' : 'traversal');
    if (segment.includes('\\')) throw new UnsafePathError(encodedPath, 'backslash');
    if (segment === '..' || segment === '.') throw new UnsafePathError(encodedPath, 'traversal');
    if (segment === '') throw new UnsafePathError(encodedPath, 'empty-segment');
    return segment;
  });
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * Resolves `encodedPath` inside `root` without touching the disk: for trees that hold no symbolic
 * links, such as the renderer's files inside the app's asar archive (where realpath may not reach).
 */
export function resolveLexically(root: string, encodedPath: string): string {
  const segments = relativeSegments(encodedPath);
  const candidate = path.resolve(root, ...segments);
  if (!isInside(path.resolve(root), candidate)) throw new UnsafePathError(encodedPath, 'outside-root');
  return candidate;
}

/**
 * Resolves `encodedPath` inside `root` and returns the file's real path (no symlinks left in it).
 * Refuses traversal, absolute paths, encoded traversal, NUL bytes, and symlinks whose target lies
 * outside the root's real path; a missing file is 'not-found' (404).
 */
export async function resolveInsideRoot(root: string, encodedPath: string): Promise<string> {
  const segments = relativeSegments(encodedPath);
  const realRoot = await realpath(root);
  const candidate = path.resolve(realRoot, ...segments);
  if (!isInside(realRoot, candidate)) throw new UnsafePathError(encodedPath, 'outside-root');

  let real: string;
  try {
    real = await realpath(candidate);
  } catch (error) {
    if (isNodeError(error) && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) {
      throw new UnsafePathError(encodedPath, 'not-found');
    }
    throw error;
  }
  if (!isInside(realRoot, real)) throw new UnsafePathError(encodedPath, 'outside-root');
  if (!(await stat(real)).isFile()) throw new UnsafePathError(encodedPath, 'not-a-file');
  return real;
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

/**
 * The image of the project `folder` that a URL path names (still percent-encoded, '/'-separated): its real path, after
 * resolveInsideRoot's checks, and only when it is an image file the scan would pick up outside hidden folders (never
 * the project's .loupe data: database, exports, thumbnails).
 */
export async function resolveProjectImage(folder: string, encodedPath: string): Promise<string> {
  const file = await resolveInsideRoot(folder, encodedPath);
  const segments = path.relative(await realpath(folder), file).split(path.sep);
  if (segments.some((segment) => segment.startsWith('.')) || !isImageFileName(file)) {
    throw new UnsafePathError(encodedPath, 'not-an-image');
  }
  return file;
}
