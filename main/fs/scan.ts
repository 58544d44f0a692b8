import type { ImageId } from '../../app/model/index.js';
import type { ImageFile, ImageFileWrite, ProjectStore, ScanIndexEntry } from '../store/index.js';
import { UntrustedFileCrashError, UntrustedFiles } from '../untrusted/client.js';
import { hashFile } from './hash.js';
import { listImageFiles, type FoundFile, type LinkOutside } from './imageFiles.js';

export interface ScanProgress {
  readonly phase: 'listing' | 'probing' | 'done';
  /** Files probed so far (unchanged files count as done at once). */
  readonly done: number;
  readonly total: number;
}

export interface ScanOptions {
  /** Files probed at once (hash + header), sent to the untrusted-files process in two batches; default 16. */
  readonly concurrency?: number;
  /** Rows written per transaction; default 500. */
  readonly batchSize?: number;
  readonly onProgress?: (progress: ScanProgress) => void;
  /** Decode every image fully (slower) to catch files whose header is intact but whose data is cut short. */
  readonly verify?: boolean;
  /** The process that reads the files (probes decode untrusted bytes); one is started for this scan when absent. */
  readonly untrusted?: UntrustedFiles;
}

export interface ScanSummary {
  /** Image files found in the folder. */
  readonly files: number;
  readonly added: number;
  /**
   * Files at a known path whose content changed (another hash; a file whose size or time changed but whose bytes
   * did not, as after `touch`, is unchanged). Such an image goes back to 'new', loses its pending predictions, and
   * its other annotations are kept but marked stale until a person reviews it again.
   */
  readonly changed: number;
  /** Known images found under a new path (same content hash); their annotations follow them. */
  readonly moved: number;
  readonly unchanged: number;
  /** Known images no longer found; they stay, flagged missing, with their annotations. */
  readonly missing: number;
  /** Files the decoder could not read among those read by this scan, stored with status 'error'. */
  readonly errors: number;
  /** Every image of the project in status 'error' after the scan (read now or earlier), with the reason, by path. */
  readonly unreadable: { readonly path: string; readonly reason: string }[];
  /** Symbolic links leading out of the folder, which a scan does not follow. */
  readonly linksOutside: LinkOutside[];
  readonly durationMs: number;
}

/**
 * Scans the project folder into the store: adds new images, updates changed ones, follows moved or
 * renamed files by content hash, flags vanished ones as missing. Never deletes an image or an annotation.
 * Files whose size and modification time are unchanged are not read again (unless `verify`). Every file is probed
 * in the untrusted-files process: one that crashes it is recorded as unreadable with that reason, and the scan goes on.
 */
/** Most files sent to the untrusted-files process in one message. */
const MAX_BATCH = 16;

export async function scanFolder(store: ProjectStore, options: ScanOptions = {}): Promise<ScanSummary> {
  const untrusted = options.untrusted ?? new UntrustedFiles();
  try {
    return await scanWith(store, untrusted, options);
  } finally {
    if (!options.untrusted) await untrusted.dispose();
  }
}

/** A file that crashed the process probing it: described as the scan describes any file it cannot decode. */
async function crashed(file: FoundFile, error: UntrustedFileCrashError): Promise<ImageFile> {
  const hash = await hashFile(file.absolutePath).catch(() => '');
  return { path: file.path, size: file.size, mtimeMs: file.mtimeMs, width: 0, height: 0, orientation: 1, hash, error: error.reason };
}

async function scanWith(store: ProjectStore, untrusted: UntrustedFiles, options: ScanOptions): Promise<ScanSummary> {
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency ?? 16);
  // Two batches in flight keep the process busy while a reply travels back; batches cut the messages per file.
  const batch = Math.min(MAX_BATCH, Math.ceil(concurrency / 2));
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const report = options.onProgress ?? (() => {});

  report({ phase: 'listing', done: 0, total: 0 });
  const { files, linksOutside } = await listImageFiles(store.folder);
  const known = new Map(store.images.scanIndex().map((entry) => [entry.path, entry]));
  const present = new Set(files.map((f) => f.path));

  const toProbe: FoundFile[] = [];
  const foundAgain: ImageId[] = [];
  for (const file of files) {
    const entry = known.get(file.path);
    if (entry && !options.verify && entry.size === file.size && entry.mtimeMs === file.mtimeMs) {
      if (entry.missing) foundAgain.push(entry.id);
    } else {
      toProbe.push(file);
    }
  }
  const vanishedByHash = groupByHash([...known.values()].filter((e) => !present.has(e.path)));

  const counts = { added: 0, changed: 0, moved: 0, unchanged: files.length - toProbe.length, errors: 0 };
  let pending: ImageFileWrite[] = [];
  const flush = () => {
    if (pending.length > 0) store.images.writeFiles(pending);
    pending = [];
  };

  let done = files.length - toProbe.length;
  report({ phase: 'probing', done, total: files.length });
  // Files are read several at once but recorded in path order, so new images get their row ids (and an export its
  // new COCO ids) in the same order whatever finishes first.
  const probedInOrder: (ImageFile | undefined)[] = [];
  let recorded = 0;
  const record = (file: FoundFile, probed: ImageFile) => {
    if (probed.error !== null) counts.errors++;
    const atPath = known.get(file.path);
    const movedFrom = atPath || probed.hash === '' ? undefined : vanishedByHash.get(probed.hash)?.shift();
    const id = atPath?.id ?? movedFrom?.id;
    if (atPath) {
      // Decided by content: a touched file (new time, same bytes) is unchanged; its new time is recorded.
      if (atPath.hash === probed.hash || probed.hash === '') counts.unchanged++;
      else counts.changed++;
    } else if (movedFrom) counts.moved++;
    else counts.added++;
    pending.push(id === undefined ? { file: probed } : { id, file: probed });
    if (pending.length >= batchSize) flush();
  };
  const batches = Array.from({ length: Math.ceil(toProbe.length / batch) }, (_, i) => i * batch);
  await forEachConcurrently(batches, Math.ceil(concurrency / batch), async (start) => {
    const chunk = toProbe.slice(start, start + batch);
    const probed = await untrusted.probeMany(chunk, options.verify ?? false);
    for (const [i, result] of probed.entries()) {
      probedInOrder[start + i] = result instanceof UntrustedFileCrashError ? await crashed(chunk[i]!, result) : result;
    }
    while (recorded < toProbe.length && probedInOrder[recorded] !== undefined) {
      record(toProbe[recorded]!, probedInOrder[recorded]!);
      probedInOrder[recorded++] = undefined;
    }
    done += chunk.length;
    report({ phase: 'probing', done, total: files.length });
  });
  flush();

  const vanished = [...vanishedByHash.values()].flat().map((e) => e.id);
  store.transaction(() => {
    store.images.setMissing(foundAgain, false);
    store.images.setMissing(vanished, true);
  });
  report({ phase: 'done', done: files.length, total: files.length });

  return {
    files: files.length,
    ...counts,
    missing: vanished.length,
    unreadable: store.stats.unreadableImages().map(({ path, reason }) => ({ path, reason })),
    linksOutside,
    durationMs: performance.now() - started,
  };
}

function groupByHash(entries: readonly ScanIndexEntry[]): Map<string, ScanIndexEntry[]> {
  const groups = new Map<string, ScanIndexEntry[]>();
  for (const entry of entries) groups.set(entry.hash, [...(groups.get(entry.hash) ?? []), entry]);
  return groups;
}

/** Runs `task` over `items` with at most `limit` running at once; the first failure rejects. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
