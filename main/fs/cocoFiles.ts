import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isUtf8 } from 'node:buffer';
import { CocoError, readCocoDataset, type CocoDataset } from '../../app/formats/coco.js';
import type { ImageId } from '../../app/model/index.js';
import {
  importCoco, projectToCoco,
  type CocoExportOptions, type CocoExportReport, type CocoImportReport, type ProjectStore,
} from '../store/index.js';
import { writeFileAtomic } from './atomicWrite.js';
import { FileError } from './fileError.js';
import { hashFile } from './hash.js';

/** Problems listed one by one under the first line; beyond this many, a count. */
export const MAX_LISTED_PROBLEMS = 20;

/** A COCO file as read: the dataset, and the annotations whose bbox was taken from the mask instead of the file. */
export interface CocoFile {
  readonly dataset: CocoDataset;
  readonly bboxFromMask: number;
}

/**
 * Reads and validates a COCO JSON file. Every problem is a FileError naming the file: bytes that are not UTF-8 (with
 * the byte offset), malformed JSON, or the COCO problems, all listed (up to MAX_LISTED_PROBLEMS, then a count).
 */
export async function readCocoFile(path: string): Promise<CocoFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(path, code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a COCO file' : String(error));
  }
  const offset = firstInvalidUtf8(bytes);
  if (offset !== null) {
    throw new FileError(path, `not valid UTF-8: byte ${offset} (0x${bytes[offset]!.toString(16).padStart(2, '0')}); save the file as UTF-8`);
  }
  let json: unknown;
  try {
    // A byte-order mark, as some Windows tools write, is not part of the JSON.
    json = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new FileError(path, `malformed JSON: ${(error as Error).message}`);
  }
  try {
    return readCocoDataset(json);
  } catch (error) {
    if (error instanceof CocoError) throw problemsError(path, error);
    throw error;
  }
}

/** The offset of the first byte that does not belong to a valid UTF-8 sequence, or null when there is none. */
export function firstInvalidUtf8(bytes: Uint8Array): number | null {
  if (isUtf8(bytes)) return null;
  // Decoding with replacement marks each bad sequence with U+FFFD; the text before the first one is valid and
  // re-encodes to exactly its bytes. A U+FFFD that was in the file as such (EF BF BD) is skipped.
  const text = new TextDecoder('utf-8').decode(bytes);
  let from = 0;
  for (;;) {
    const index = text.indexOf('\uFFFD', from);
    if (index < 0) return null;
    const offset = Buffer.byteLength(text.slice(0, index), 'utf8');
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
    from = index + 1;
  }
}

function problemsError(path: string, error: CocoError): FileError {
  const { problems } = error;
  if (problems.length === 1) return new FileError(path, error.message);
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${p.path}: ${p.reason}`);
  const more = problems.length - listed.length;
  return new FileError(path, `${problems.length} problems, nothing was imported`, more > 0 ? [...listed, `... and ${more} more`] : listed);
}

export interface CocoImportResult extends CocoImportReport {
  /** Annotations whose file bbox differed from their mask's by more than 1 pixel (the mask's is used). */
  readonly bboxFromMask: number;
}

/** Imports a COCO file into the project: all of it is checked before anything is written. */
export async function importCocoFile(store: ProjectStore, path: string): Promise<CocoImportResult> {
  const { dataset, bboxFromMask } = await readCocoFile(path);
  try {
    return { ...importCoco(store, dataset), bboxFromMask };
  } catch (error) {
    if (error instanceof CocoError) throw problemsError(path, error);
    throw error;
  }
}

export interface CocoExportResult extends CocoExportReport {
  readonly path: string;
}

/**
 * The export service behind `loupe export` and the app's `export.coco`: the reviewed truth of the project (see
 * projectToCoco) written atomically (temporary file in the same folder, then renamed). Images whose file changed
 * since the last scan (another size or time, and another content hash) are left out and named, as are those the
 * project cannot write; the export goes on without them.
 */
export async function exportCocoFile(store: ProjectStore, out: string, options: CocoExportOptions = {}): Promise<CocoExportResult> {
  const changed = await changedSinceScan(store, options.scope ?? 'reviewed');
  const { dataset, report } = projectToCoco(store, options, changed);
  const path = resolve(out);
  await writeFileAtomic(path, `${JSON.stringify(dataset)}\n`);
  return { path, ...report };
}

/**
 * Images in scope whose file no longer holds what was scanned (id -> why); a touched but identical file is not a
 * change. Every export leaves them out (main/exchange's formats too).
 */
export async function changedSinceScan(store: ProjectStore, scope: 'reviewed' | 'all'): Promise<Map<ImageId, string>> {
  const changed = new Map<ImageId, string>();
  const reviewed = scope === 'reviewed' ? new Set(reviewedIds(store)) : null;
  for (const entry of store.images.scanIndex()) {
    if (entry.missing || (reviewed && !reviewed.has(entry.id))) continue;
    const file = join(store.folder, entry.path);
    const info = await stat(file).catch(() => null);
    if (!info) {
      changed.set(entry.id, 'the file is missing (moved or deleted since the last scan)');
    } else if (info.size !== entry.size || Math.round(info.mtimeMs) !== entry.mtimeMs) {
      const hash = await hashFile(file).catch(() => null);
      if (hash !== entry.hash) changed.set(entry.id, 'the file changed since the last scan; run `loupe scan` and review it again');
    }
  }
  return changed;
}

function reviewedIds(store: ProjectStore): ImageId[] {
  return (store.db.prepare(`SELECT id FROM images WHERE status = 'reviewed'`).all() as { id: ImageId }[]).map((r) => r.id);
}
