// Writing an export whole or not at all: a dataset folder is built beside its destination under a hidden name and
// renamed into place when complete; files written among the images (LabelMe beside each image) all go to
// temporary files first and are renamed only once every one of them is on disk.
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileError } from '../fs/fileError.js';

/** A file of an export: its bytes, or an image file to place there (hard link, else copy). */
export type OutputFile =
  | { readonly path: string; readonly data: string | Uint8Array }
  | { readonly path: string; readonly source: string };

export type ImagePlacement = 'link' | 'copy';

export interface WrittenFolder {
  readonly files: number;
  /** Images hard-linked (no space used) and copied (another file system, or --images copy). */
  readonly linked: number;
  readonly copied: number;
}

async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Refuses an output folder that has content, and one whose parent does not exist. */
export async function checkNewFolder(out: string): Promise<void> {
  const parent = await stat(dirname(out)).catch(() => null);
  if (!parent?.isDirectory()) throw new FileError(dirname(out), 'no such folder to write into');
  const info = await stat(out).catch(() => null);
  if (info === null) return;
  if (!info.isDirectory()) throw new FileError(out, 'exists and is not a folder');
  if ((await readdir(out)).length > 0) {
    throw new FileError(out, 'exists and is not empty: an export writes a whole new folder (remove it, or name another)');
  }
}

/**
 * Writes a dataset folder at `out` (relative paths under it), which must not exist or be empty: everything goes
 * into a hidden folder beside it first, which is renamed to `out` when complete, so `out` never holds half an
 * export.
 */
export async function writeDatasetFolder(out: string, files: readonly OutputFile[], images: ImagePlacement): Promise<WrittenFolder> {
  await checkNewFolder(out);
  const staging = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial`);
  let linked = 0;
  let copied = 0;
  try {
    await mkdir(staging);
    const folders = new Set(files.map((f) => dirname(join(staging, f.path))));
    for (const folder of [...folders].sort()) await mkdir(folder, { recursive: true });
    for (const file of files) {
      const target = join(staging, file.path);
      if ('data' in file) {
        await writeSynced(target, file.data);
      } else if (images === 'link' && (await tryLink(file.source, target))) {
        linked++;
      } else {
        await copyFile(file.source, target);
        copied++;
      }
    }
    if (await stat(out).catch(() => null)) await rmdir(out);
    await rename(staging, out);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { files: files.length, linked, copied };
}

async function tryLink(source: string, target: string): Promise<boolean> {
  try {
    await link(source, target);
    return true;
  } catch (error) {
    // Another file system or one without hard links: copied instead.
    if (['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
}

/**
 * Writes files at absolute paths (their folders are created): all to temporary files beside their targets,
 * flushed, and only then renamed over the targets, so a failure (a full disk) leaves every target as it was.
 */
export async function writeFilesTogether(files: readonly { readonly path: string; readonly data: string | Uint8Array }[]): Promise<void> {
  const suffix = `${randomBytes(6).toString('hex')}.tmp`;
  const temporary = files.map((f) => join(dirname(f.path), `.${basename(f.path)}.${suffix}`));
  try {
    for (const [i, file] of files.entries()) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeSynced(temporary[i]!, file.data);
    }
  } catch (error) {
    await Promise.all(temporary.map((t) => rm(t, { force: true })));
    throw error;
  }
  for (const [i, file] of files.entries()) await rename(temporary[i]!, file.path);
}
