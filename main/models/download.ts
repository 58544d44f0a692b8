// Downloads one file over HTTP(S) into `<destination>.part`, resuming with a Range request after a
// cancel or a dropped connection, checking its sha256, and only then moving it to `destination`.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, constants, link, rm, stat, unlink } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export interface DownloadProgress {
  readonly received: number;
  /** Total size in bytes when the server said; null otherwise. */
  readonly total: number | null;
}

export interface DownloadOptions {
  readonly url: string;
  readonly destination: string;
  /** Expected sha256 of the whole file, hex; when given, a mismatch deletes the download and throws. */
  readonly sha256?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /** Connection drops survived by resuming automatically before giving up (default 2). */
  readonly retries?: number | undefined;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** True when some bytes came from an earlier, interrupted attempt. */
  readonly resumed: boolean;
}

export class DownloadError extends Error {
  constructor(
    readonly url: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`Download of ${url} failed: ${message}`, options);
    this.name = 'DownloadError';
  }
}

export class ChecksumMismatchError extends DownloadError {
  constructor(
    url: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(url, `sha256 mismatch: expected ${expected}, got ${actual}; the downloaded file was deleted`);
    this.name = 'ChecksumMismatchError';
  }
}

/** The connection dropped or ended early; the partial file is kept and the next attempt resumes it. */
export class DownloadInterruptedError extends DownloadError {
  override name = 'DownloadInterruptedError';
}

/** The caller's AbortSignal fired; the partial file is kept so a later download resumes it. */
export class DownloadCancelledError extends DownloadError {
  override name = 'DownloadCancelledError';
  constructor(url: string) {
    super(url, 'cancelled; the partial file is kept so the download can resume');
  }
}

export function partPath(destination: string): string {
  return `${destination}.part`;
}

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { url, destination } = options;
  const protocol = safeProtocol(url);
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new DownloadError(url, `only http and https URLs can be downloaded, not "${protocol}"`);
  }
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new DownloadError(url, `"${options.sha256}" is not a sha256 (64 hex digits)`);
  }
  if (await exists(destination)) {
    throw new DownloadError(url, `${destination} already exists; it is never overwritten`);
  }

  const part = partPath(destination);
  let resumed = false;
  for (let retriesLeft = options.retries ?? 2; ; retriesLeft -= 1) {
    try {
      const { bytes, hash, offset } = await fetchIntoPart(url, part, options);
      resumed ||= offset > 0;
      const actual = hash.digest('hex');
      if (expected !== undefined && actual !== expected) {
        await rm(part, { force: true });
        throw new ChecksumMismatchError(url, expected, actual);
      }
      await moveWithoutOverwrite(part, destination, url);
      return { path: destination, bytes, sha256: actual, resumed };
    } catch (error) {
      if (!(error instanceof DownloadInterruptedError) || retriesLeft <= 0 || options.signal?.aborted) throw error;
      resumed = true;
    }
  }
}

/** Fetches what `part` lacks (all of it, or the rest with a Range request) and returns the whole file's hash. */
async function fetchIntoPart(
  url: string,
  part: string,
  options: DownloadOptions,
): Promise<{ bytes: number; hash: Hash; offset: number }> {
  const have = await sizeOf(part);
  const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: options.signal ?? null, redirect: 'follow' });
  } catch (error) {
    if (options.signal?.aborted) throw new DownloadCancelledError(url);
    throw new DownloadInterruptedError(url, 'could not connect', { cause: error });
  }

  let offset = 0;
  if (response.status === 206) {
    offset = contentRangeStart(response.headers.get('content-range'));
    if (offset !== have) {
      // The server resumed from somewhere else: start over rather than splice mismatched bytes.
      await response.body?.cancel();
      await rm(part, { force: true });
      return fetchIntoPart(url, part, options);
    }
  } else if (response.status === 416 && have > 0) {
    // Our partial file is not a prefix the server recognises (or is already whole): start over.
    await response.body?.cancel();
    await rm(part, { force: true });
    return fetchIntoPart(url, part, options);
  } else if (!response.ok) {
    await response.body?.cancel();
    throw new DownloadError(url, `server answered ${response.status} ${response.statusText}`.trim());
  }
  if (response.body === null) throw new DownloadError(url, 'server sent no body');

  const hash = createHash('sha256');
  if (offset > 0) {
    for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer);
  }
  const length = Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? offset + length : null;
  let received = offset;
  options.onProgress?.({ received, total });

  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      received += chunk.length;
      options.onProgress?.({ received, total });
      callback(null, chunk);
    },
  });
  const file = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), counter, file);
  } catch (error) {
    // Writes already handed to the file still land after an abort: wait, so the part's size is where a resume starts.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    if (options.signal?.aborted) throw new DownloadCancelledError(url);
    throw new DownloadInterruptedError(url, `connection lost after ${received} bytes; the next attempt resumes from there`, {
      cause: error,
    });
  }
  if (total !== null && received !== total) {
    throw new DownloadInterruptedError(url, `got ${received} of ${total} bytes; the next attempt resumes from there`);
  }
  return { bytes: received, hash, offset };
}

function contentRangeStart(header: string | null): number {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header ?? '');
  return match ? Number(match[1]) : -1;
}

async function moveWithoutOverwrite(from: string, to: string, url: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new DownloadError(url, `${to} appeared meanwhile; it is never overwritten`);
    // File systems without hard links: copy, refusing to replace anything.
    await copyFile(from, to, constants.COPYFILE_EXCL);
  }
  await unlink(from);
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    throw new DownloadError(url, 'not a valid URL');
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
