// Small settings files in userData: validated on read, written atomically, never silently discarded.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';

/**
 * The file's content when it parses and validates; null when the file does not exist. A file that
 * is not valid JSON or fails the schema is renamed to `<file>.bad-<time>` (kept for inspection),
 * `onProblem` hears why, and null is returned so the app starts with defaults.
 */
export async function readJsonFile<S extends z.ZodType>(
  file: string,
  schema: S,
  onProblem: (message: string) => void,
): Promise<z.output<S> | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let reason: string;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    reason = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  } catch (error) {
    reason = `not valid JSON (${(error as Error).message})`;
  }
  const aside = `${file}.bad-${Date.now()}`;
  await rename(file, aside);
  onProblem(`${file}: ${reason}; moved to ${aside} and starting from defaults`);
  return null;
}

export async function writeJsonFileAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temp, file);
}
