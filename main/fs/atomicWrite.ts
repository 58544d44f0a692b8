import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileError } from './fileError.js';

/**
 * Writes a file so that readers see the old content or the whole new one, never a part: the data goes to a
 * temporary file in the same folder, is flushed to disk, and is renamed over the target. `data` may also be an
 * (async) iterable of chunks, so a large export need not be held in memory whole.
 */
export async function writeFileAtomic(path: string, data: Parameters<FileHandle['writeFile']>[0]): Promise<void> {
  const folder = dirname(path);
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new FileError(folder, 'no such folder to write into');
  const temporary = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
