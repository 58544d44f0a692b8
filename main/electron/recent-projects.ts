// The File > Open Recent list: most recent first, no duplicates, kept in a small JSON file in userData.
import { z } from 'zod';
import { readJsonFile, writeJsonFileAtomic } from './json-file.js';

export const MAX_RECENT = 10;

const RecentFileSchema = z.object({ version: z.literal(1), folders: z.array(z.string().min(1)) });

/** `folder` moved to the front; an equal entry (same path, or same path ignoring case on Windows/macOS) is dropped. */
export function addRecent(list: readonly string[], folder: string, platform: NodeJS.Platform = process.platform): string[] {
  const key = (p: string) => (platform === 'win32' || platform === 'darwin' ? p.toLowerCase() : p);
  return [folder, ...list.filter((entry) => key(entry) !== key(folder))].slice(0, MAX_RECENT);
}

export function removeRecent(list: readonly string[], folder: string): string[] {
  return list.filter((entry) => entry !== folder);
}

/** Reads the list; a missing file is an empty list, a damaged one is set aside (renamed) and reported. */
export async function loadRecent(file: string, onProblem: (message: string) => void = () => {}): Promise<string[]> {
  const read = await readJsonFile(file, RecentFileSchema, onProblem);
  return read ? read.folders.slice(0, MAX_RECENT) : [];
}

export async function saveRecent(file: string, folders: readonly string[]): Promise<void> {
  await writeJsonFileAtomic(file, { version: 1, folders: folders.slice(0, MAX_RECENT) });
}
