import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocketApi } from '../../app/ipc/socket-client.js';
import { repoRoot, serveFolder } from './serve.js';

const root = repoRoot();
let work: string;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(root, 'renderer', 'build.mjs')]);
  work = await mkdtemp(path.join(tmpdir(), 'loupe-serve-'));
  await cp(path.join(root, 'resources', 'samples'), path.join(work, 'samples'), { recursive: true, filter: (src) => !src.includes('.loupe') });
  await mkdir(path.join(work, 'other'));
  await sharp({ create: { width: 30, height: 20, channels: 3, background: '#00ff00' } }).png().toFile(path.join(work, 'other', 'green.png'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('serveFolder', () => {
  it('scans the folder, answers the UI\'s channels, and follows project.open to another folder main handed out', async () => {
    const rendererDir = path.join(work, 'renderer');
    execFileSync(process.execPath, [path.join(root, 'renderer', 'build.mjs'), '--out', rendererDir]);
    const serving = await serveFolder(path.join(work, 'samples'), { rendererDir, userModelDir: path.join(work, 'user-models'), log: () => {} });
    const cookie = serving.bridge.newSession();
    const ws = new WebSocket(`ws://127.0.0.1:${serving.bridge.port}/ipc`, { headers: { cookie } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const api = createSocketApi(ws as never, serving.bridge.origin);
    const fetch = (url: string) => globalThis.fetch(url, { headers: { cookie } });
    try {
      const summary = await api.invoke('project.summary', {});
      expect(summary.total).toBeGreaterThanOrEqual(10);
      const { items } = await api.invoke('images.list', { limit: 100 });
      const rotated = items.find((i) => i.path === 'rotated-exif6.jpg')!;
      const bytes = Buffer.from(await (await fetch(api.imageUrl(rotated))).arrayBuffer());
      const meta = await sharp(bytes).metadata();
      expect([meta.width, meta.height]).toEqual([rotated.width, rotated.height]);

      // The page holds a handle main handed out (its menu, Open Recent, a drop): never the path.
      const other = await api.invoke('project.open', { folder: serving.services.files.grant('project-folder', path.join(work, 'other')).handle });
      expect(other).toMatchObject({ total: 1, folder: path.join(work, 'other') });
      const [green] = (await api.invoke('images.list', { limit: 10 })).items;
      expect((await fetch(api.imageUrl(green!))).status).toBe(200);
      expect((await fetch(api.thumbnailUrl(green!))).status).toBe(200);
      expect(existsSync(path.join(work, 'other', '.loupe', 'thumbs'))).toBe(true);
      // The first folder's files are no longer served.
      expect((await fetch(api.imageUrl(rotated))).status).toBe(404);
      await expect(api.invoke('project.open', { folder: path.join(work, 'samples') as never })).rejects.toMatchObject({ code: 'invalid-request' });
      await expect(api.invoke('project.open', { folder: serving.services.files.grant('project-folder', path.join(work, 'nope')).handle }))
        .rejects.toThrow(/^project\.open: nope: no such folder$/);
      // Channels the UI does not use are not answered on the page's socket.
      await expect(api.invoke('images.setStatus', { id: green!.id, status: 'reviewed' })).rejects.toMatchObject({ code: 'unknown-channel' });
      expect((await api.invoke('images.get', { id: green!.id })).status).not.toBe('reviewed');
    } finally {
      api.close();
      await serving.close();
    }
  });
});

describe('loupe serve', () => {
  it('prints the URL with its one-time token, serves it to the session that token opens, and stops cleanly on SIGINT', async () => {
    if (!existsSync(path.join(root, 'dist', 'main', 'cli', 'commands', 'serve.js'))) throw new Error('run `npm run build` first');
    const child = spawn(process.execPath, [path.join(root, 'bin', 'loupe.js'), 'serve', path.join(work, 'samples')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const match = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    expect((await fetch(url.replace(/token=.*/, 'token=wrong'), { redirect: 'manual' })).status).toBe(403);
    // The printed address: its token becomes a session cookie, and the browser is sent on without it.
    const exchange = await fetch(url, { redirect: 'manual' });
    expect(exchange.status).toBe(303);
    const cookie = exchange.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(new URL(exchange.headers.get('location')!, url), { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(403);
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  });

  it('refuses a bad port with a usage error', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [path.join(root, 'bin', 'loupe.js'), 'serve', work, '--port', 'abc'], { stdio: 'pipe' });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(1);
    expect(stderr).toMatch(/--port must be a whole number/);
  });
});
