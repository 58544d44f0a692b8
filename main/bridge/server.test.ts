import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, mkdir, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { createSocketApi, type SocketApi } from '../../app/ipc/socket-client.js';
import { IpcRequestError, MAX_PAYLOAD_BYTES } from '../../app/ipc/contract.js';
import { CategoryId } from '../../app/model/index.js';
import { createDispatcher, type Handlers } from '../ipc/handlers.js';
import { startBridge, type Bridge } from './server.js';

let root: string;
let folder: string;
let bridge: Bridge;

const handlers = {
  'categories.list': () => ({ categories: [{ id: CategoryId(1), name: 'cat', color: '#ff0000' }] }),
} as Partial<Handlers> as Handlers;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'loupe-bridge-'));
  folder = path.join(root, 'project');
  const renderer = path.join(root, 'renderer');
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
  bridge = await startBridge({ folder, rendererDir: renderer, dispatch: createDispatcher(handlers) });
});

afterAll(async () => {
  await bridge?.close();
  await rm(root, { recursive: true, force: true });
});

const get = (pathAndQuery: string, headers: Record<string, string> = {}) => fetch(`${bridge.origin}${pathAndQuery}`, { headers });
const withToken = (p: string) => `${p}${p.includes('?') ? '&' : '?'}token=${bridge.token}`;

describe('bridge HTTP', () => {
  it('listens on loopback and prints a URL carrying the token', () => {
    expect(bridge.url).toBe(`http://127.0.0.1:${bridge.port}/?token=${bridge.token}`);
    expect(bridge.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses every request without the right token', async () => {
    expect((await get('/')).status).toBe(403);
    expect((await get('/files/plain.png')).status).toBe(403);
    expect((await get('/files/plain.png?token=wrong')).status).toBe(403);
    expect((await get('/thumbs/plain.png?token=' + bridge.token.slice(1))).status).toBe(403);
  });

  it('serves the renderer with a CSP and sets a cookie that later requests can use', async () => {
    const page = await get(withToken('/'));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Loupe</title>');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe');
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    expect((await get('/files/plain.png', { cookie })).status).toBe(200);
  });

  it('serves image bytes with the EXIF orientation applied', async () => {
    const plain = await get(withToken('/files/plain.png'));
    expect(plain.headers.get('content-type')).toBe('image/png');
    expect(await sharp(Buffer.from(await plain.arrayBuffer())).metadata()).toMatchObject({ width: 40, height: 20 });
    const rotated = await get(withToken('/files/sub%20dir/rotated.jpg'));
    expect(rotated.status).toBe(200);
    const meta = await sharp(Buffer.from(await rotated.arrayBuffer())).metadata();
    expect({ width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 }).toEqual({ width: 20, height: 40, orientation: 1 });
  });

  it('makes thumbnails once, EXIF-correct, and caches them under .loupe/thumbs', async () => {
    const first = await get(withToken('/thumbs/sub%20dir/rotated.jpg'));
    expect(first.status).toBe(200);
    const meta = await sharp(Buffer.from(await first.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([20, 40]);
    const cached = await readdir(path.join(folder, '.loupe', 'thumbs'));
    expect(cached).toHaveLength(1);
    await get(withToken('/thumbs/sub%20dir/rotated.jpg'));
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
    const res = await fetch(`${bridge.origin}${withToken(p)}`);
    expect([403, 404]).toContain(res.status);
    expect(res.headers.get('content-type')).not.toMatch(/^image\//);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: bridge.port, path: withToken('/'), headers: { host: `evil.example:${bridge.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    expect(status).toBe(403);
  });
});

describe('bridge WebSocket', () => {
  const connect = (url: string, headers: Record<string, string> = {}) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });

  it('refuses a handshake without the token or from another origin', async () => {
    await expect(connect(`ws://127.0.0.1:${bridge.port}/ipc`)).rejects.toThrow(/403/);
    await expect(connect(`ws://127.0.0.1:${bridge.port}/ipc?token=${bridge.token}`, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
  });

  describe('with a connected client', () => {
    let ws: WebSocket;
    let api: SocketApi;
    beforeAll(async () => {
      ws = await connect(`ws://127.0.0.1:${bridge.port}/ipc?token=${bridge.token}`);
      api = createSocketApi(ws as never, bridge.origin, bridge.token);
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

    it('builds media URLs the bridge serves', async () => {
      const url = api.imageUrl({ id: 1 as never, path: 'sub dir/rotated.jpg' });
      expect(url).toBe(`${bridge.origin}/files/sub%20dir/rotated.jpg?token=${encodeURIComponent(bridge.token)}`);
      expect((await fetch(url)).status).toBe(200);
      expect((await fetch(api.thumbnailUrl({ id: 1 as never, path: 'plain.png' }))).status).toBe(200);
    });
  });
});
