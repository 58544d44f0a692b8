import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, mkdir, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { createSocketApi, type SocketApi } from '../../app/ipc/socket-client.js';
import { IpcRequestError, MAX_PAYLOAD_BYTES } from '../../app/ipc/contract.js';
import { CategoryId } from '../../app/model/index.js';
import { createDispatcher } from '../ipc/dispatcher.js';
import type { Handlers } from '../ipc/handlers.js';
import { localRenderer } from '../untrusted/images.js';
import { createMediaService } from '../media/index.js';
import { startBridge, type Bridge } from './server.js';

let root: string;
let folder: string;
let renderer: string;
let bridge: Bridge;
/** A session of `bridge`, as the `Cookie` header a browser would send. */
let cookie: string;

const handlers = {
  'categories.list': () => ({ categories: [{ id: CategoryId(1), name: 'cat', color: '#ff0000' }] }),
} as Partial<Handlers> as Handlers;

const startTestBridge = () =>
  startBridge({ media: createMediaService({ folder: () => folder, renderer: localRenderer }), rendererDir: renderer, dispatch: createDispatcher(handlers) });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'loupe-bridge-'));
  folder = path.join(root, 'project');
  renderer = path.join(root, 'renderer');
  await mkdir(path.join(folder, 'sub dir'), { recursive: true });
  await mkdir(path.join(folder, '.loupe'), { recursive: true });
  await mkdir(renderer);
  await writeFile(path.join(renderer, 'index.html'), '<!doctype html><title>Loupe</title>');
  const pixels = { create: { width: 40, height: 20, channels: 3, background: '#3366cc' } } as const;
  await sharp(pixels).png().toFile(path.join(folder, 'plain.png'));
  // Stored 40x20 landscape, EXIF orientation 6: displayed as 20x40 portrait.
  await sharp(pixels).withMetadata({ orientation: 6 }).jpeg().toFile(path.join(folder, 'sub dir', 'rotated.jpg'));
  await sharp(pixels).png().toFile(path.join(root, 'secret.png'));
  await writeFile(path.join(folder, '.loupe', 'project.db'), 'not for the browser');
  await symlink(path.join(root, 'secret.png'), path.join(folder, 'link-out.png'));
  bridge = await startTestBridge();
  cookie = bridge.newSession();
});

afterAll(async () => {
  await bridge?.close();
  await rm(root, { recursive: true, force: true });
});

const fetchFrom = (server: Bridge, pathAndQuery: string, headers: Record<string, string> = {}) =>
  fetch(`${server.origin}${pathAndQuery}`, { headers, redirect: 'manual' });
const get = (pathAndQuery: string, headers: Record<string, string> = { cookie }) => fetchFrom(bridge, pathAndQuery, headers);

/** A raw request, for paths and headers fetch would normalise. */
async function rawGet(server: Bridge, pathAndQuery: string, headers: Record<string, string>): Promise<{ status: number; location?: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: server.port, path: pathAndQuery, headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, ...(res.headers.location !== undefined && { location: res.headers.location }) });
    }).on('error', reject).end();
  });
}

describe('bridge session', () => {
  let fresh: Bridge;
  let other: Bridge;
  beforeAll(async () => {
    fresh = await startTestBridge();
    other = await startTestBridge();
  });
  afterAll(async () => {
    await fresh?.close();
    await other?.close();
  });

  it('prints a loopback URL carrying a long random one-time token', () => {
    const url = new URL(fresh.url);
    expect(url.origin).toBe(`http://127.0.0.1:${fresh.port}`);
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('token')!.length).toBeGreaterThanOrEqual(32);
    expect(url.searchParams.get('token')).not.toBe(new URL(other.url).searchParams.get('token'));
  });

  it('exchanges the URL token once for an HttpOnly, SameSite=Strict cookie of its port, then refuses the token', async () => {
    // A HEAD (a link preview) does not spend it.
    expect((await fetch(fresh.url, { method: 'HEAD', redirect: 'manual' })).status).toBe(405);
    const first = await fetch(fresh.url, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    expect(first.headers.get('cache-control')).toBe('no-store');
    const setCookie = first.headers.get('set-cookie')!;
    const [pair, ...attributes] = setCookie.split(';').map((part) => part.trim());
    const [name, value] = pair!.split('=');
    expect(name).toBe(`loupe_session_${fresh.port}`);
    expect(fresh.cookieName).toBe(name);
    expect(value!.length).toBeGreaterThanOrEqual(32);
    expect(fresh.url).not.toContain(value);
    // A session cookie (no Expires or Max-Age), for this host only (no Domain), unreadable by scripts, never sent cross-site.
    expect(attributes.sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Strict']);

    const session = { cookie: pair! };
    const page = await fetchFrom(fresh, '/', session);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Loupe</title>');
    expect((await fetchFrom(fresh, '/files/plain.png', session)).status).toBe(200);

    // The used token: refused on its own, in the same or another request path.
    const again = await fetch(fresh.url, { redirect: 'manual' });
    expect(again.status).toBe(403);
    expect(await again.text()).toMatch(/already used/);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect((await fetchFrom(fresh, `/files/plain.png${new URL(fresh.url).search}`)).status).toBe(403);
    // With the session it only sends the browser on to the address without the token.
    const reopened = await fetch(fresh.url, { redirect: 'manual', headers: session });
    expect(reopened.status).toBe(303);
    expect(reopened.headers.get('set-cookie')).toBeNull();
    const media = await fetchFrom(fresh, `/thumbs/plain.png?size=1&token=x`, session);
    expect(media.headers.get('location')).toBe('/thumbs/plain.png?size=1');
  });

  it('never redirects to another host', async () => {
    const session = { cookie: fresh.newSession() };
    expect(await rawGet(fresh, '//evil.example/x?token=t', session)).toEqual({ status: 303, location: '/evil.example/x' });
    expect(await rawGet(fresh, '/\\evil.example?token=t', session)).toEqual({ status: 303, location: '/evil.example' });
  });

  it("does not accept another localhost port's cookie, by its name or under its own", async () => {
    const foreign = fresh.newSession(); // loupe_session_<fresh.port>=<secret>
    const secret = foreign.split('=')[1]!;
    expect((await fetchFrom(fresh, '/', { cookie: foreign })).status).toBe(200);
    expect((await fetchFrom(other, '/', { cookie: foreign })).status).toBe(403);
    expect((await fetchFrom(other, '/', { cookie: `${other.cookieName}=${secret}` })).status).toBe(403);
    // A browser sends every localhost port's cookies together: only this port's own one counts.
    const both = `${foreign}; ${other.newSession()}`;
    expect((await fetchFrom(other, '/', { cookie: both })).status).toBe(200);
    await expect(connect(`ws://127.0.0.1:${other.port}/ipc`, { cookie: foreign })).rejects.toThrow(/403/);
  });

  it('refuses every request without a session', async () => {
    expect((await get('/', {})).status).toBe(403);
    expect((await get('/files/plain.png', {})).status).toBe(403);
    expect((await get('/files/plain.png?token=wrong', {})).status).toBe(403);
    expect((await get('/thumbs/plain.png', { cookie: `${bridge.cookieName}=${cookie.split('=')[1]!.slice(1)}` })).status).toBe(403);
    expect((await get('/', { cookie: `${bridge.cookieName}=` })).status).toBe(403);
  });
});

describe('bridge HTTP', () => {
  it('serves the renderer with a CSP', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Loupe</title>');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe');
  });

  it('serves image bytes with the EXIF orientation applied', async () => {
    const plain = await get('/files/plain.png');
    expect(plain.headers.get('content-type')).toBe('image/png');
    expect(await sharp(Buffer.from(await plain.arrayBuffer())).metadata()).toMatchObject({ width: 40, height: 20 });
    const rotated = await get('/files/sub%20dir/rotated.jpg');
    expect(rotated.status).toBe(200);
    const meta = await sharp(Buffer.from(await rotated.arrayBuffer())).metadata();
    expect({ width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 }).toEqual({ width: 20, height: 40, orientation: 1 });
  });

  it('makes thumbnails once, EXIF-correct, and caches them under .loupe/thumbs', async () => {
    const first = await get('/thumbs/sub%20dir/rotated.jpg');
    expect(first.status).toBe(200);
    const meta = await sharp(Buffer.from(await first.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([20, 40]);
    const cached = await readdir(path.join(folder, '.loupe', 'thumbs'));
    expect(cached).toHaveLength(1);
    await get('/thumbs/sub%20dir/rotated.jpg');
    expect(await readdir(path.join(folder, '.loupe', 'thumbs'))).toEqual(cached);
  });

  it.each([
    ['/files/../secret.png', 'dot-dot (normalised by URL parsing or refused)'],
    ['/files/%2e%2e/secret.png', 'encoded dot-dot'],
    ['/files/%2e%2e%2fsecret.png', 'encoded slash traversal'],
    ['/files/sub%20dir/..%5c..%5csecret.png', 'encoded backslash'],
    ['/files/%2Ftmp%2Fsecret.png', 'encoded absolute path'],
    ['/files//etc/passwd', 'absolute path'],
    ['/files/link-out.png', 'symlink out of the folder'],
    ['/files/.loupe/project.db', 'the project database'],
    ['/thumbs/%252e%252e/secret.png', 'double-encoded dot-dot'],
    ['/files/plain.png%00.txt', 'NUL byte'],
  ])('refuses %s (%s)', async (p) => {
    const res = await get(p);
    expect([403, 404]).toContain(res.status);
    expect(res.headers.get('content-type')).not.toMatch(/^image\//);
  });

  it('refuses a foreign Host header (DNS rebinding), even with a session', async () => {
    expect((await rawGet(bridge, '/', { cookie, host: `evil.example:${bridge.port}` })).status).toBe(403);
    expect((await rawGet(bridge, '/', { cookie })).status).toBe(200);
  });
});

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('bridge WebSocket', () => {
  it('refuses a handshake without a session, with a token instead, or from another origin', async () => {
    await expect(connect(`ws://127.0.0.1:${bridge.port}/ipc`)).rejects.toThrow(/403/);
    await expect(connect(`${bridge.url.replace('http:', 'ws:').replace('/?', '/ipc?')}`)).rejects.toThrow(/403/);
    await expect(connect(`ws://127.0.0.1:${bridge.port}/ipc`, { cookie, origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const ws = await connect(`ws://127.0.0.1:${bridge.port}/ipc`, { cookie, origin: bridge.origin });
    ws.close();
  });

  describe('with a connected client', () => {
    let ws: WebSocket;
    let api: SocketApi;
    beforeAll(async () => {
      ws = await connect(`ws://127.0.0.1:${bridge.port}/ipc`, { cookie });
      api = createSocketApi(ws as never, bridge.origin);
    });
    afterAll(() => api.close());

    it('carries contract calls and their errors', async () => {
      expect(await api.invoke('categories.list', {})).toEqual({ categories: [{ id: 1, name: 'cat', color: '#ff0000' }] });
      await expect(api.invoke('images.get', { id: -3 })).rejects.toThrow(IpcRequestError);
      await expect(api.invoke('categories.list', { extra: 1 } as never)).rejects.toMatchObject({ code: 'invalid-request' });
    });

    it('answers malformed and oversized messages with errors and keeps serving', async () => {
      const replies: unknown[] = [];
      ws.on('message', (data) => replies.push(JSON.parse(String(data))));
      ws.send('not json');
      ws.send('x'.repeat(MAX_PAYLOAD_BYTES + 10));
      await vi.waitFor(() => expect(replies).toHaveLength(2), { timeout: 60_000 });
      expect(replies).toEqual([
        { kind: 'reply', id: -1, reply: { ok: false, error: { code: 'invalid-request', message: 'message is not JSON' } } },
        { kind: 'reply', id: -1, reply: { ok: false, error: { code: 'too-large', message: expect.stringContaining('exceeds') } } },
      ]);
      expect(await api.invoke('categories.list', {})).toHaveProperty('categories');
    });

    it('delivers events to listeners until disposed', async () => {
      const seen: number[] = [];
      const sub = api.on('images.changed', ({ ids }) => seen.push(...ids));
      bridge.emit('images.changed', { ids: [1 as never, 2 as never] });
      await vi.waitFor(() => expect(seen).toEqual([1, 2]), { timeout: 60_000 });
      sub.dispose();
      // A listener still subscribed sees the next event; the socket keeps order, so by then the disposed one would have too.
      const later: number[] = [];
      const witness = api.on('images.changed', ({ ids }) => later.push(...ids));
      bridge.emit('images.changed', { ids: [3 as never] });
      await vi.waitFor(() => expect(later).toEqual([3]), { timeout: 60_000 });
      witness.dispose();
      expect(seen).toEqual([1, 2]);
    });

    it('builds media URLs without a secret, which the bridge serves to the session cookie', async () => {
      const url = api.imageUrl({ id: 1 as never, path: 'sub dir/rotated.jpg' });
      expect(url).toBe(`${bridge.origin}/files/sub%20dir/rotated.jpg`);
      expect((await fetch(url, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(url)).status).toBe(403);
      expect((await fetch(api.thumbnailUrl({ id: 1 as never, path: 'plain.png' }), { headers: { cookie } })).status).toBe(200);
    });
  });
});
