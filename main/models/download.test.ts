import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendSlowly } from './fixtures/send-slowly.js';
import {
  ChecksumMismatchError,
  DownloadCancelledError,
  DownloadError,
  DownloadInterruptedError,
  downloadFile,
  partPath,
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
}
let behaviour: Behaviour;
const requests: { url: string; range: string | undefined }[] = [];

let server: Server;
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
  if (!behaviour.slow) {
    res.end(body);
    return;
  }
  sendSlowly(res, body, 64 * 1024, 10);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url === '/model.onnx') return serveFile(req, res);
    if (req.url === '/moved') return void res.writeHead(302, { Location: '/model.onnx' }).end();
    res.writeHead(404).end('not here');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
});

beforeEach(async () => {
  behaviour = { dropAfter: null, dropTimes: 0, ignoreRange: false, slow: false };
  requests.length = 0;
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-download-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('downloads real bytes, reports progress up to the total and checks the sha256', async () => {
    const destination = path.join(dir, 'model.onnx');
    const progress: DownloadProgress[] = [];
    const result = await downloadFile({
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
    const error = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: wrong }).catch((e: unknown) => e);
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
    const error = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha, retries: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadInterruptedError);
    const kept = (await stat(partPath(destination))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(1024 * 1024);
    expect(existsSync(destination)).toBe(false);

    const result = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(result.resumed).toBe(true);
    expect(result.sha256).toBe(payloadSha);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('resumes by itself after a dropped connection when retries are left', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.dropAfter = 500_000;
    behaviour.dropTimes = 2;
    const result = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha, retries: 2 });
    expect(requests.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/), expect.stringMatching(/^bytes=\d+-$/)]);
    expect(result.resumed).toBe(true);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('cancels mid-transfer, keeps what it has, and resumes later', async () => {
    const destination = path.join(dir, 'model.onnx');
    behaviour.slow = true;
    const controller = new AbortController();
    const error = await downloadFile({
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
    const result = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(result.resumed).toBe(true);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('starts over when the server ignores the Range header', async () => {
    const destination = path.join(dir, 'model.onnx');
    await writeFile(partPath(destination), payload.subarray(0, 1000));
    behaviour.ignoreRange = true;
    const result = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(requests[0]?.range).toBe('bytes=1000-');
    expect(result.resumed).toBe(false);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('starts over when the partial file is longer than the remote one (416)', async () => {
    const destination = path.join(dir, 'model.onnx');
    await writeFile(partPath(destination), Buffer.concat([payload, Buffer.from('junk')]));
    const result = await downloadFile({ url: `${origin}/model.onnx`, destination, sha256: payloadSha });
    expect(result.sha256).toBe(payloadSha);
    expect((await readFile(destination)).equals(payload)).toBe(true);
  });

  it('follows redirects', async () => {
    const destination = path.join(dir, 'model.onnx');
    const result = await downloadFile({ url: `${origin}/moved`, destination, sha256: payloadSha });
    expect(result.bytes).toBe(payload.length);
  });

  it('never overwrites an existing file', async () => {
    const destination = path.join(dir, 'model.onnx');
    await writeFile(destination, 'mine');
    await expect(downloadFile({ url: `${origin}/model.onnx`, destination })).rejects.toThrow(/already exists.*never overwritten/);
    expect(await readFile(destination, 'utf8')).toBe('mine');
    expect(requests).toHaveLength(0);
  });

  it('names the status of a failed request and refuses what is not http(s) or not a sha256', async () => {
    const destination = path.join(dir, 'x.onnx');
    await expect(downloadFile({ url: `${origin}/absent.onnx`, destination })).rejects.toThrow(/absent\.onnx failed: server answered 404/);
    await expect(downloadFile({ url: 'file:///etc/passwd', destination })).rejects.toThrow(/only http and https/);
    await expect(downloadFile({ url: 'not a url', destination })).rejects.toBeInstanceOf(DownloadError);
    await expect(downloadFile({ url: `${origin}/model.onnx`, destination, sha256: 'xyz' })).rejects.toThrow(/not a sha256/);
    expect(existsSync(destination)).toBe(false);
  });
});
