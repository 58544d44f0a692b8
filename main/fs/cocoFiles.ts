import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CocoError, parseCocoDataset, type CocoDataset } from '../../app/formats/coco.js';
import { importCoco, projectToCoco, type CocoExportOptions, type CocoImportReport } from '../store/coco.js';
import type { ProjectStore } from '../store/index.js';
import { writeFileAtomic } from './atomicWrite.js';
import { FileError } from './fileError.js';

/** Reads and validates a COCO JSON file; every problem is a FileError naming the file and the reason. */
export async function readCocoFile(path: string): Promise<CocoDataset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a COCO file' : String(error));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FileError(path, `malformed JSON: ${(error as Error).message}`);
  }
  try {
    return parseCocoDataset(json);
  } catch (error) {
    if (error instanceof CocoError) throw new FileError(path, error.message);
    throw error;
  }
}

/** Imports a COCO file into the project: all of it is checked before anything is written. */
export async function importCocoFile(store: ProjectStore, path: string): Promise<CocoImportReport> {
  const dataset = await readCocoFile(path);
  try {
    return importCoco(store, dataset);
  } catch (error) {
    if (error instanceof CocoError) throw new FileError(path, error.message);
    throw error;
  }
}

export interface CocoExportResult {
  readonly path: string;
  readonly images: number;
  readonly annotations: number;
}

/** Exports the project as a COCO file, written atomically (temporary file in the same folder, then renamed). */
export async function exportCocoFile(store: ProjectStore, out: string, options: CocoExportOptions = {}): Promise<CocoExportResult> {
  const dataset = projectToCoco(store, options);
  const path = resolve(out);
  await writeFileAtomic(path, `${JSON.stringify(dataset)}\n`);
  return { path, images: dataset.images.length, annotations: dataset.annotations.length };
}
