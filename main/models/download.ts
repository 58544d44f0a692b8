// Downloads one file over HTTPS into `<destination>.part`, resuming with a Range request after a
// cancel or a dropped connection, checking it against a sha256 the caller must know beforehand, and
// only then moving it to `destination`. The URL comes from the UI (a possibly compromised renderer),
// so every hop of a redirect is checked again: https only, a public host, a limited number of hops,
// a size limit and an idle timeout.
import { createHash, type Hash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { createWriteStream } from 'node:fs';
import { copyFile, constants, link, rm, stat, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { feedFile } from '../fs/hash.js';

export interface DownloadProgress {
  readonly received: number;
  /** Total size in bytes when the server said; null otherwise. */
  readonly total: number | null;
}

/** What the app (or a test) may set for every download; the defaults are DOWNLOAD_DEFAULTS. */
export interface DownloadSettings {
  /** Largest file accepted, in bytes. */
  readonly maxBytes?: number | undefined;
  /** A connection that sends nothing for this long is dropped (and resumed, if retries are left). */
  readonly idleTimeoutMs?: number | undefined;
  /** Redirects followed before giving up. */
  readonly maxRedirects?: number | undefined;
  /** Allow loopback, private-network and link-local hosts (off: a URL from the UI must not reach the LAN). */
  readonly allowPrivateHosts?: boolean | undefined;
  /**
   * Certificates trusted instead of the system's. Only tests set this, to trust the self-signed
   * certificate of their local HTTPS server.
   */
  readonly trustedCertificates?: string | Buffer | undefined;
}

export const DOWNLOAD_DEFAULTS = {
  // ONNX files are protobufs, which cannot exceed 2 GiB; bigger models keep their weights in external data.
  maxBytes: 2 * 1024 ** 3,
  idleTimeoutMs: 30_000,
  maxRedirects: 5,
} as const;

export interface DownloadOptions extends DownloadSettings {
  readonly url: string;
  readonly destination: string;
  /** Expected sha256 of the whole file, hex: required, so what lands on disk is what the caller meant. */
  readonly sha256: string;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /** Connection drops survived by resuming automatically before giving up (default 2). */
  readonly retries?: number | undefined;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  /** The verified sha256 (the one asked for). */
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

/** The URL (or a redirect's target) is not one Loupe downloads from: wrong scheme, private host, too many hops. */
export class DownloadRefusedError extends DownloadError {
  override name = 'DownloadRefusedError';
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

/** The file is larger than the limit; what was received is deleted. */
export class DownloadTooLargeError extends DownloadError {
  override name = 'DownloadTooLargeError';
}

/** The connection dropped or ended early; the partial file is kept and the next attempt resumes it. */
export class DownloadInterruptedError extends DownloadError {
  override name = 'DownloadInterruptedError';
}

/** Nothing arrived for the idle timeout; like a dropped connection, the next attempt resumes. */
export class DownloadStalledError extends DownloadInterruptedError {
  override name = 'DownloadStalledError';
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

/**
 * The download settings named in the environment: LOUPE_DOWNLOAD_MAX_MB, LOUPE_DOWNLOAD_IDLE_TIMEOUT_S,
 * LOUPE_DOWNLOAD_ALLOW_PRIVATE_HOSTS=1. A value that is not a positive number is an error, not ignored.
 */
export function downloadSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): DownloadSettings {
  const positive = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
    return value;
  };
  const megabytes = positive('LOUPE_DOWNLOAD_MAX_MB');
  const seconds = positive('LOUPE_DOWNLOAD_IDLE_TIMEOUT_S');
  return {
    ...(megabytes !== undefined && { maxBytes: Math.floor(megabytes * 1024 * 1024) }),
    ...(seconds !== undefined && { idleTimeoutMs: Math.round(seconds * 1000) }),
    ...(env.LOUPE_DOWNLOAD_ALLOW_PRIVATE_HOSTS === '1' && { allowPrivateHosts: true }),
  };
}

export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const { url, destination } = options;
  const first = parseUrl(url);
  checkTarget(url, first, options, false);
  const expected = typeof options.sha256 === 'string' ? options.sha256.toLowerCase() : '';
  if (expected === '') {
    throw new DownloadRefusedError(url, 'a sha256 of the file is required, so the download can be checked before it is used');
  }
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new DownloadRefusedError(url, `"${options.sha256}" is not a sha256 (64 hex digits)`);
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
      if (actual !== expected) {
        await rm(part, { force: true });
        throw new ChecksumMismatchError(url, expected, actual);
      }
      await moveWithoutOverwrite(part, destination, url);
      return { path: destination, bytes, sha256: expected, resumed };
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
  const maxBytes = options.maxBytes ?? DOWNLOAD_DEFAULTS.maxBytes;
  const have = await sizeOf(part);
  const response = await get(url, have > 0 ? { Range: `bytes=${have}-` } : {}, options);
  const status = response.message.statusCode ?? 0;
  const headers = response.message.headers;

  let offset = 0;
  let total: number | null = null;
  if (status === 206) {
    const range = contentRange(headers['content-range']);
    offset = range.start;
    total = range.total;
    if (offset !== have) {
      // The server resumed from somewhere else: start over rather than splice mismatched bytes.
      response.message.destroy();
      await rm(part, { force: true });
      return fetchIntoPart(url, part, options);
    }
  } else if (status === 416 && have > 0) {
    // Our partial file is not a prefix the server recognises (or is already whole): start over.
    response.message.destroy();
    await rm(part, { force: true });
    return fetchIntoPart(url, part, options);
  } else if (status < 200 || status > 299) {
    response.message.destroy();
    throw new DownloadError(url, `server answered ${status} ${response.message.statusMessage ?? ''}`.trim());
  }
  const length = Number(headers['content-length'] ?? NaN);
  total ??= Number.isFinite(length) ? offset + length : null;
  if (total !== null && total > maxBytes) {
    response.message.destroy();
    await rm(part, { force: true });
    throw new DownloadTooLargeError(url, `the file is ${total} bytes, more than the limit of ${maxBytes}`);
  }

  const hash = createHash('sha256');
  if (offset > 0) await feedFile(hash, part);
  let received = offset;
  let tooLarge = false;
  options.onProgress?.({ received, total });

  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > maxBytes) {
        // The server sent more than it announced (or announced nothing): stop before the disk fills.
        tooLarge = true;
        callback(new Error('too large'));
        return;
      }
      hash.update(chunk);
      options.onProgress?.({ received, total });
      callback(null, chunk);
    },
  });
  const file = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' });
  try {
    await pipeline(response.message, counter, file);
  } catch (error) {
    // Writes already handed to the file still land after an abort: wait, so the part's size is where a resume starts.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    if (tooLarge) {
      await rm(part, { force: true });
      throw new DownloadTooLargeError(url, `more than the limit of ${maxBytes} bytes arrived; the partial file was deleted`);
    }
    if (options.signal?.aborted) throw new DownloadCancelledError(url);
    if (response.stalled()) {
      throw new DownloadStalledError(url, `nothing arrived for ${idleTimeout(options) / 1000} s after ${received} bytes; the next attempt resumes from there`);
    }
    throw new DownloadInterruptedError(url, `connection lost after ${received} bytes; the next attempt resumes from there`, {
      cause: error,
    });
  }
  if (total !== null && received !== total) {
    throw new DownloadInterruptedError(url, `got ${received} of ${total} bytes; the next attempt resumes from there`);
  }
  return { bytes: received, hash, offset };
}

interface Response {
  readonly message: IncomingMessage;
  /** True once the idle timeout ended the connection. */
  stalled(): boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * One GET, following redirects by hand: each hop's URL is checked like the first (https, public host),
 * at most `maxRedirects` of them.
 */
async function get(url: string, headers: Record<string, string>, options: DownloadOptions): Promise<Response> {
  const maxRedirects = options.maxRedirects ?? DOWNLOAD_DEFAULTS.maxRedirects;
  let target = parseUrl(url);
  for (let hop = 0; ; hop += 1) {
    checkTarget(url, target, options, hop > 0);
    const response = await getOnce(url, target, headers, options);
    const status = response.message.statusCode ?? 0;
    if (!REDIRECTS.has(status)) return response;
    const location = response.message.headers.location;
    response.message.destroy();
    if (location === undefined) throw new DownloadError(url, `server answered ${status} without a Location`);
    if (hop >= maxRedirects) throw new DownloadRefusedError(url, `more than ${maxRedirects} redirects`);
    try {
      target = new URL(location, target);
    } catch {
      throw new DownloadRefusedError(url, `redirected to "${location}", which is not a valid URL`);
    }
  }
}

function getOnce(url: string, target: URL, headers: Record<string, string>, options: DownloadOptions): Promise<Response> {
  const timeout = idleTimeout(options);
  return new Promise<Response>((resolve, reject) => {
    let stalled = false;
    const request = httpsRequest(target, {
      method: 'GET',
      headers: { ...headers, 'User-Agent': 'Loupe', 'Accept-Encoding': 'identity' },
      // Before the connection and while it lasts: no bytes for this long ends it.
      timeout,
      ...(options.signal && { signal: options.signal }),
      ...(options.trustedCertificates !== undefined && { ca: options.trustedCertificates }),
      // Each hop's address is checked after DNS, so a public name cannot resolve to the LAN.
      lookup: options.allowPrivateHosts ? undefined : publicOnlyLookup,
      agent: false,
    });
    request.on('timeout', () => {
      stalled = true;
      request.destroy(new Error(`no data for ${timeout} ms`));
    });
    request.on('response', (message) => resolve({ message, stalled: () => stalled }));
    request.on('error', (error) => {
      if (options.signal?.aborted) reject(new DownloadCancelledError(url));
      else if (error instanceof DownloadRefusedError) reject(error);
      else if (error instanceof PrivateAddressError) reject(new DownloadRefusedError(url, error.message));
      else if (isCertificateError(error)) reject(new DownloadRefusedError(url, `the certificate of ${target.host} is not trusted: ${error.message}`));
      else if (stalled) reject(new DownloadStalledError(url, `the server at ${target.host} sent nothing for ${timeout / 1000} s`));
      else reject(new DownloadInterruptedError(url, `could not connect to ${target.host}: ${error.message}`, { cause: error }));
    });
    request.end();
  });
}

/** TLS verification failures: retrying cannot help, so they refuse rather than interrupt. */
function isCertificateError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return /CERT|SIGNATURE|ERR_TLS/.test(code);
}

function idleTimeout(options: DownloadSettings): number {
  return options.idleTimeoutMs ?? DOWNLOAD_DEFAULTS.idleTimeoutMs;
}

/** Refuses a URL (the first or a redirect's) Loupe does not download from. */
function checkTarget(url: string, target: URL, settings: DownloadSettings, redirected: boolean): void {
  const where = redirected ? `redirected to ${target.href}: ` : '';
  if (target.protocol !== 'https:') {
    throw new DownloadRefusedError(url, `${where}only https URLs are downloaded, not "${target.protocol.replace(/:$/, '')}"`);
  }
  if (target.username !== '' || target.password !== '') {
    throw new DownloadRefusedError(url, `${where}URLs with a user name or password are not downloaded`);
  }
  if (!settings.allowPrivateHosts && isPrivateHost(target.hostname)) {
    throw new DownloadRefusedError(url, `${where}${target.hostname} is a local or private-network host`);
  }
}

/** Loopback, private, link-local, shared, multicast and reserved ranges: nothing a model is published on. */
const PRIVATE_ADDRESSES = (() => {
  const list = new BlockList();
  for (const [address, prefix] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
    ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ] as const) {
    list.addSubnet(address, prefix, 'ipv4');
  }
  for (const [address, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
    list.addSubnet(address, prefix, 'ipv6');
  }
  return list;
})();

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE_ADDRESSES.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isPrivateAddress(host);
}

class PrivateAddressError extends Error {}

/** dns.lookup that fails for names resolving to a private address (DNS rebinding onto the LAN). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, options as LookupOptions, (error, address: string | LookupAddress[], family?: number) => {
    if (error) return callback(error, '', 0);
    const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
    const blocked = addresses.find(isPrivateAddress);
    if (blocked !== undefined) {
      return callback(new PrivateAddressError(`${hostname} resolves to ${blocked}, a local or private-network address`), '', 0);
    }
    (callback as (error: null, address: string | LookupAddress[], family?: number) => void)(null, address, family);
  });
};

function contentRange(header: string | undefined): { start: number; total: number | null } {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header ?? '');
  if (!match) return { start: -1, total: null };
  return { start: Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) };
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

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new DownloadRefusedError(url, 'not a valid URL');
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
