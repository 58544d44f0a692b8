import { createHash, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHttpsServer, type TestHttpsServer } from './fixtures/https-server.js';
import { sendSlowly } from './fixtures/send-slowly.js';
import {
  ChecksumMismatchError,
  DownloadCancelledError,
  DownloadInterruptedError,
  DownloadRefusedError,
  DownloadStalledError,
  DownloadTooLargeError,
  downloadFile,
  downloadSettingsFromEnv,
  isPrivateAddress,
  partPath,
  type DownloadOptions,
  type DownloadProgress,
} from './download.js';

const payload = randomBytes(3 * 1024 * 1024 + 17);
const payloadSha = createHash('sha256').update(payload).digest('hex');

/** What the test server does with the next requests; reset before each test. */
interface Behaviour {
  /** Destroy the socket after this many body bytes, for the first `dropTimes` requests. */
  dropAfter: number | null;
  dropTimes: number;
  ignoreRange: boolean;
  /** Send the body in small chunks with pauses, so a cancel lands mid-transfer. */
  slow: boolean;
  /** Send this many body bytes, then stall (keep the connection open, send nothing), for `stallTimes` requests. */
  stallAfter: number | null;
  stallTimes: number;
}
let behaviour: Behaviour;
const requests: { url: string; range: string | undefined }[] = [];
let server: TestHttpsServer;
/** A plain-http server that must never be asked for anything. */
let plain: Server;
let plainOrigin: string;
const plainRequests: string[] = [];
let origin: string;
let dir: string;

function serveFile(req: IncomingMessage, res: ServerResponse): void {
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range && !behaviour.ignoreRange) {
    start = Number(range[1]);
    if (start >= payload.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${payload.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'Content-Length': payload.length - start,
      'Content-Range': `bytes ${start}-${payload.length - 1}/${payload.length}`,
    });
  } else {
    res.writeHead(200, { 'Content-Length': payload.length, 'Accept-Ranges': 'bytes' });
  }
  const body = payload.subarray(start);
  if (behaviour.dropAfter !== null && behaviour.dropTimes > 0) {
    behaviour.dropTimes -= 1;
    res.write(body.subarray(0, behaviour.dropAfter), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  if (behaviour.stallAfter !== null && behaviour.stallTimes > 0) {
    // Send some bytes, then nothing: the connection stays open until the client gives up.
    behaviour.stallTimes -= 1;
    res.write(body.subarray(0, behaviour.stallAfter));
    return;
  }
  if (!behaviour.slow) {
    res.end(body);
    return;
  }
  sendSlowly(res, body, 64 * 1024, 10);
}

beforeAll(async () => {
  server = await startHttpsServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url === '/model.onnx') return serveFile(req, res);
    if (req.url === '/moved') return void res.writeHead(302, { Location: '/model.onnx' }).end();
    if (req.url === '/to-http') return void res.writeHead(301, { Location: `${plainOrigin}/model.onnx` }).end();
    if (req.url === '/to-localhost') return void res.writeHead(307, { Location: `https://localhost:${server.port}/model.onnx` }).end();
    if (req.url === '/loop') return void res.writeHead(302, { Location: '/loop' }).end();
    if (req.url === '/unannounced') {
      // No Content-Length (chunked): the size limit must hold while the bytes arrive.
      res.writeHead(200);
      return void res.end(payload);
    }
    if (req.url === '/headers-never') return; // accepts the request, never answers
    res.writeHead(404).end('not here');
  });
  origin = server.origin;
  plain = createHttpServer((req, res) => {
    plainRequests.push(req.url ?? '');
    res.writeHead(200, { 'Content-Length': payload.length }).end(payload);
  });
  plain.listen(0, '127.0.0.1');
  await once(plain, 'listening');
  plainOrigin = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await server.close();
  plain.closeAllConnections();
  plain.close();
});

/** The test server is local and self-signed: trust exactly it, and allow its loopback address. */
const download = (options: Omit<DownloadOptions, 'sha256'> & { sha256?: string }) =>
  downloadFile({ sha256: payloadSha, allowPrivateHosts: true, trustedCertificates: server.certificate, ...options });

beforeEach(async () => {
  behaviour = { dropAfter: null, dropTimes: 0, ignoreRange: false, slow: false, stallAfter: null, stallTimes: 0 };
  requests.length = 0;
  plainRequests.length = 0;
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-download-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('downloads real bytes, reports progress up to the total and checks the sha256', async () => {
    const destination = path.join(dir, 'model.onnx');
    const progress: DownloadProgress[] = [];
    const result = await download({
      url: `${origin}/model.onnx`,
      destination,
      sha256: payloadSha.toUpperCase(),
      onProgress: (p) => progress.push(p),
    });
    expect(result).toEqual({ path: destination, bytes: payload.length, sha256: payloadSha, resumed: false });
    expect((await readFile(destination)).equals(payload)).toBe(true);
    expect(existsSync(partPath(destination))).toBe(false);
    expect(progress.at(-1)).toEqual({ received: payload.length, total: payload.length });
    const received = progress.map((p) => p.received);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(progress.length).toBeGreaterThan(2);
  });

  it('deletes the file and names both hashes when the checksum is wrong', async () => {
    const destination = path.join(dir, 'model.onnx');
    const wrong = 'ab'.repeat(32);
    const error = await download({ url: `${origin}/model.onnx`, destination, sha256: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as Error).message).toContain(wrong);
    expect((error as Error).message).toContain(payloadSha);
    expect(existsSync(destination)).toBe(false);
    expect(existsSync(partPath(destination))).toBe(false);
  });

  it('keeps the partial file when the connection drops, and the next call resumes with a Range request', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.dropAfter = 1024 * 1024;
    behaviour.dropTimes = 1;
    const error = await download({ url: `${origin}/model.onnx`, destination, sha256: payloadSha, retries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadInterruptedError);
    const kept = (await stat(partPath(destination))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(1024 * 1024);
    expect(existsSync(destination)).toBe(false);

    const result = await download({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(result.resumed).toBe(true);
    expect(result.sha256).toBe(payloadSha);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('resumes by itself after a dropped connection when retries are left', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.dropAfter = 500_000;
    behaviour.dropTimes = 2;
    const result = await download({ url: `${origin}/model.onnx`, destination, sha256: payloadSha, retries: 2 });
    expect(requests.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/), expect.stringMatching(/^bytes=\d+-$/)]);
    expect(result.resumed).toBe(true);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('cancels mid-transfer, keeps what it has, and resumes later', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.slow = true;
    const controller = new AbortController();
    const error = await download({
      url: `${origin}/model.onnx`,
      destination,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.received > 256 * 1024) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadCancelledError);
    const kept = (await stat(partPath(destination))).size;
    // What reached the disk before the abort: a prefix, possibly shorter than what was received.
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(payload.length);

    behaviour.slow = false;
    const result = await download({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(result.resumed).toBe(true);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    const destination = path.join(dir, 'model.onnx');
    await writeFile(partPath(destination), payload.subarray(0, 1000));
    behaviour.ignoreRange = true;
    const result = await download({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(requests[0]?.range).toBe('bytes=1000-');
    expect(result.resumed).toBe(false);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('starts over when the partial file is longer than the remote one (416)', async () => {
    const destination = path.join(dir, 'model.onnx');
    await writeFile(partPath(destination), Buffer.concat([payload, Buffer.from('junk')]));
    const result = await download({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(result.sha256).toBe(payloadSha);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('follows redirects', async () => {
    const destination = path.join(dir, 'model.onnx');
    const result = await download({ url: `${origin}/moved`, destination, sha256: payloadSha });
    expect(result.bytes).toBe(payload.length);
  });

  it('never overwrites an existing file', async () => {
    const destination = path.join(dir, 'model.onnx');
    await writeFile(destination, 'mine');
    await expect(download({ url: `${origin}/model.onnx`, destination })).rejects.toThrow(/already exists.*never overwritten/);
    expect(await readFile(destination, 'utf8')).toBe('mine');
    expect(requests).toHaveLength(0);
  });

  it('names the status of a failed request and refuses what is not a URL or not a sha256', async () => {
    const destination = path.join(dir, 'x.onnx');
    await expect(download({ url: `${origin}/absent.onnx`, destination })).rejects.toThrow(/absent\.onnx failed: server answered 404/);
    await expect(download({ url: 'file:///etc/passwd', destination })).rejects.toThrow(/only https URLs.*not "file"/);
    await expect(download({ url: 'not a url', destination })).rejects.toBeInstanceOf(DownloadRefusedError);
    await expect(download({ url: `${origin}/model.onnx`, destination, sha256: 'xyz' })).rejects.toThrow(/not a sha256/);
    expect(existsSync(destination)).toBe(false);
  });
});

describe('downloadFile refuses', () => {
  it('plain http, before connecting', async () => {
    const destination = path.join(dir, 'model.onnx');
    const error = await download({ url: `${plainOrigin}/model.onnx`, destination }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadRefusedError);
    expect((error as Error).message).toMatch(/only https URLs are downloaded, not "http"/);
    expect(plainRequests).toEqual([]);
    expect(existsSync(destination) || existsSync(partPath(destination))).toBe(false);
  });

  it('a redirect to http, without following it', async () => {
    const destination = path.join(dir, 'model.onnx');
    const error = await download({ url: `${origin}/to-http`, destination }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadRefusedError);
    expect((error as Error).message).toContain(`redirected to ${plainOrigin}/model.onnx: only https`);
    expect(requests.map((r) => r.url)).toEqual(['/to-http']);
    expect(plainRequests).toEqual([]);
    expect(existsSync(partPath(destination))).toBe(false);
  });

  it('a download without a sha256, before connecting', async () => {
    const destination = path.join(dir, 'model.onnx');
    for (const sha256 of [undefined, '']) {
      const error = await downloadFile({
        url: `${origin}/model.onnx`, destination, sha256: sha256 as unknown as string,
        allowPrivateHosts: true, trustedCertificates: server.certificate,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DownloadRefusedError);
      expect((error as Error).message).toMatch(/a sha256 of the file is required/);
    }
    expect(requests).toEqual([]);
  });

  it('a file larger than the limit, from its announced size, keeping nothing', async () => {
    const destination = path.join(dir, 'model.onnx');
    const error = await download({ url: `${origin}/model.onnx`, destination, maxBytes: payload.length - 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadTooLargeError);
    expect((error as Error).message).toContain(`the file is ${payload.length} bytes, more than the limit of ${payload.length - 1}`);
    expect(existsSync(destination) || existsSync(partPath(destination))).toBe(false);
  });

  it('a file that grows past the limit without announcing its size, deleting what arrived', async () => {
    const destination = path.join(dir, 'model.onnx');
    const limit = 1024 * 1024;
    const progress: DownloadProgress[] = [];
    const error = await download({ url: `${origin}/unannounced`, destination, maxBytes: limit, onProgress: (p) => progress.push(p) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadTooLargeError);
    expect((error as Error).message).toContain(`more than the limit of ${limit} bytes arrived`);
    expect(progress.every((p) => p.received <= limit && p.total === null)).toBe(true);
    expect(existsSync(destination) || existsSync(partPath(destination))).toBe(false);
  });

  it('a stalled transfer after the idle timeout, keeping the partial file to resume from', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.stallAfter = 200_000;
    behaviour.stallTimes = 1;
    const error = await download({ url: `${origin}/model.onnx`, destination, idleTimeoutMs: 1000, retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadStalledError);
    expect((error as Error).message).toMatch(/nothing arrived for 1 s after \d+ bytes/);
    const kept = (await stat(partPath(destination))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(200_000);

    const result = await download({ url: `${origin}/model.onnx`, destination, idleTimeoutMs: 1000 });
    expect(requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect((await readFile(destination)).equals(payload)).toBe(true);
    expect(result.resumed).toBe(true);
  });

  it('a server that never answers, after the idle timeout', async () => {
    const destination = path.join(dir, 'model.onnx');
    const error = await download({ url: `${origin}/headers-never`, destination, idleTimeoutMs: 1000, retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadStalledError);
    expect((error as Error).message).toMatch(/sent nothing for 1 s/);
  });

  it('a stall survived by resuming automatically when retries are left', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.stallAfter = 100_000;
    behaviour.stallTimes = 1;
    const result = await download({ url: `${origin}/model.onnx`, destination, idleTimeoutMs: 1000, retries: 1 });
    expect(result.resumed).toBe(true);
    expect(requests.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('more redirects than the limit', async () => {
    const destination = path.join(dir, 'model.onnx');
    const error = await download({ url: `${origin}/loop`, destination, maxRedirects: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadRefusedError);
    expect((error as Error).message).toMatch(/more than 3 redirects/);
    expect(requests).toHaveLength(4);
  });

  it('local and private-network hosts unless allowed, by name, by address and after a redirect', async () => {
    const destination = path.join(dir, 'model.onnx');
    const strict = { trustedCertificates: server.certificate, sha256: payloadSha, destination };
    for (const url of [`${origin}/model.onnx`, `https://localhost:${server.port}/model.onnx`, 'https://[::1]/m.onnx', 'https://10.1.2.3/m.onnx']) {
      await expect(downloadFile({ ...strict, url })).rejects.toThrow(/is a local or private-network host/);
    }
    expect(requests).toEqual([]);
    // Allowed for the first hop, the redirect to localhost is still checked against the policy: here it is allowed.
    const followed = await download({ url: `${origin}/to-localhost`, destination });
    expect(followed.bytes).toBe(payload.length);
  });

  it('a public-looking name that resolves to a private address', async () => {
    // This machine's own name resolves to a loopback or private address (127.0.1.1 on Debian, the bridge address in a container).
    const name = hostname().toLowerCase();
    const { address } = await lookup(name);
    expect(isPrivateAddress(address)).toBe(true);
    const error = await downloadFile({
      url: `https://${name}:${server.port}/model.onnx`, destination: path.join(dir, 'model.onnx'),
      sha256: payloadSha, trustedCertificates: server.certificate,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadRefusedError);
    expect((error as Error).message).toContain(`${name} resolves to ${address}, a local or private-network address`);
    expect(requests).toEqual([]);
  });

  it('a server whose certificate is not trusted, without retrying', async () => {
    const destination = path.join(dir, 'model.onnx');
    const error = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha, allowPrivateHosts: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadRefusedError);
    expect((error as Error).message).toMatch(/certificate of 127\.0\.0\.1:\d+ is not trusted/);
    expect(requests).toEqual([]);
  });
});

describe('isPrivateAddress', () => {
  it('knows loopback, private, link-local and mapped addresses from public ones', () => {
    for (const address of ['127.0.0.1', '10.0.0.5', '172.20.1.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd12::1', 'fe80::1', '::ffff:192.168.0.1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['8.8.8.8', '140.82.112.3', '2606:4700::1111', '172.32.0.1']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });
});

describe('downloadSettingsFromEnv', () => {
  it('reads the limits and the private-host switch, and refuses values that are not positive numbers', () => {
    expect(downloadSettingsFromEnv({})).toEqual({});
    expect(downloadSettingsFromEnv({ LOUPE_DOWNLOAD_MAX_MB: '512', LOUPE_DOWNLOAD_IDLE_TIMEOUT_S: '2.5', LOUPE_DOWNLOAD_ALLOW_PRIVATE_HOSTS: '1' })).toEqual({
      maxBytes: 512 * 1024 * 1024, idleTimeoutMs: 2500, allowPrivateHosts: true,
    });
    expect(() => downloadSettingsFromEnv({ LOUPE_DOWNLOAD_MAX_MB: 'lots' })).toThrow(/LOUPE_DOWNLOAD_MAX_MB must be a positive number, not "lots"/);
    expect(() => downloadSettingsFromEnv({ LOUPE_DOWNLOAD_IDLE_TIMEOUT_S: '0' })).toThrow(/LOUPE_DOWNLOAD_IDLE_TIMEOUT_S/);
  });
});
