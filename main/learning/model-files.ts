// The files of a trained version in the project's model folder: what tools/model's export writes for NAME, moved
// into place without ever replacing another model's file.
import { existsSync } from 'node:fs';
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import { FileError } from '../fs/fileError.js';
import { hashFile } from '../fs/hash.js';

/** The files export writes for NAME: three graphs, their cards and the weights for the next fine-tune. */
export function exportedFiles(name: string): string[] {
  return ['', '-boxes', '-zoo'].flatMap((suffix) => [`${name}${suffix}.onnx`, `${name}${suffix}.json`]).concat(`${name}.pt`);
}

/** Moves a file into place unless one is already there: the same bytes are taken as moved before, others refused. */
export async function moveNew(from: string, to: string): Promise<void> {
  if (existsSync(to)) {
    if (existsSync(from) && (await sameBytes(from, to))) await rm(from);
    else if (existsSync(from)) throw new FileError(to, 'already exists and holds another model; it is never overwritten (remove it or train under another --name)');
    return;
  }
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    await rm(from);
  }
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size !== sb.size) return false;
  return (await hashFile(a)) === (await hashFile(b));
}
