import { realpath, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

/**
 * The one list of image files Loupe reads (a scan picks up, the image protocol serves), by lower-case extension
 * (matched case-insensitively), each with the MIME type a browser shows as it is; null: sent converted to PNG.
 */
export const IMAGE_TYPES = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif',
  '.bmp': null, '.tif': null, '.tiff': null,
} as const satisfies Readonly<Record<string, string | null>>;
export const IMAGE_EXTENSIONS = Object.keys(IMAGE_TYPES) as readonly (keyof typeof IMAGE_TYPES)[];

/** Folders a scan never enters, besides every hidden one (name starting with a dot, which covers .loupe). */
const SKIPPED_FOLDERS = new Set(['node_modules']);

export interface FoundFile {
  /** Relative to the scanned folder, with forward slashes. */
  readonly path: string;
  readonly absolutePath: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export function isImageFileName(name: string): boolean {
  return Object.hasOwn(IMAGE_TYPES, extname(name).toLowerCase());
}

/** The MIME type a browser shows `name` as, by extension; null when it is not one it reads as it is. */
export function browserType(name: string): string | null {
  const ext = extname(name).toLowerCase();
  return Object.hasOwn(IMAGE_TYPES, ext) ? IMAGE_TYPES[ext as keyof typeof IMAGE_TYPES] : null;
}

/** A symbolic link (to a folder, or to a file with an image's name) that resolves outside the scanned folder. */
export interface LinkOutside {
  /** The link, relative to the scanned folder, with forward slashes. */
  readonly path: string;
  /** Where it leads (a real path). */
  readonly target: string;
}

export interface FolderListing {
  readonly files: FoundFile[];
  /** Not followed, so a project never reaches beyond its folder; listed so nobody wonders where those images went. */
  readonly linksOutside: LinkOutside[];
}

const isInside = (root: string, target: string) => target === root || target.startsWith(root + sep);
const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** The image files under `folder` (see listImageFiles). */
export async function findImageFiles(folder: string): Promise<FoundFile[]> {
  return (await listImageFiles(folder)).files;
}

/**
 * Lists the image files under `folder`, recursively, sorted by path. Hidden entries and node_modules are
 * skipped; symbolic links are followed only when they resolve inside the folder, and each real folder is
 * visited once, so links cannot leave the project or loop. The links leading out are listed apart.
 */
export async function listImageFiles(folder: string): Promise<FolderListing> {
  const root = await realpath(folder);
  const visited = new Set<string>();
  const found: FoundFile[] = [];
  const linksOutside: LinkOutside[] = [];
  const relativePath = (path: string) => relative(folder, path).split(sep).join('/');

  async function visit(dir: string, real: string): Promise<void> {
    if (visited.has(real)) return;
    visited.add(real);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      let target = join(real, entry.name);
      if (entry.isSymbolicLink()) {
        try {
          target = await realpath(path);
        } catch {
          continue; // a dangling link
        }
        const info = await stat(target);
        if (!isInside(root, target)) {
          if (info.isDirectory() ? !SKIPPED_FOLDERS.has(entry.name) : isImageFileName(entry.name)) linksOutside.push({ path: relativePath(path), target });
          continue;
        }
        isDir = info.isDirectory();
        isFile = info.isFile();
      }
      if (isDir && !SKIPPED_FOLDERS.has(entry.name)) {
        await visit(path, target);
      } else if (isFile && isImageFileName(entry.name)) {
        const info = await stat(path);
        found.push({
          path: relativePath(path),
          absolutePath: path,
          size: info.size,
          mtimeMs: Math.round(info.mtimeMs),
        });
      }
    }
  }

  await visit(folder, root);
  return { files: found.sort(byPath), linksOutside: linksOutside.sort(byPath) };
}
