import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRenderer } from '../untrusted/images.js';
import { createMediaService } from '../media/index.js';
import { createAppProtocolHandler, createImageProtocolHandler } from './protocols.js';
import { CONTENT_SECURITY_POLICY } from './security.js';

let base: string;
let renderer: string;
let project: string;
let open: string | null;
let app: ReturnType<typeof createAppProtocolHandler>;
let images: ReturnType<typeof createImageProtocolHandler>;

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'loupe-protocols-')));
  renderer = path.join(base, 'renderer');
  project = path.join(base, 'project');
  await mkdir(path.join(renderer, 'assets'), { recursive: true });
  await writeFile(path.join(renderer, 'index.html'), '<!doctype html><script src="app.js"></script>');
  await writeFile(path.join(renderer, 'app.js'), 'console.log(1)');
  await writeFile(path.join(base, 'outside.js'), 'secret');
  await mkdir(path.join(project, 'sub dir'), { recursive: true });
  await mkdir(path.join(project, '.loupe'));
  // 40x20 pixels stored, EXIF orientation 6 (rotate 90° clockwise): displayed as 20x40.
  await sharp({ create: { width: 40, height: 20, channels: 3, background: '#3366cc' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(path.join(project, 'sub dir', 'rotated.jpg'));
  await sharp({ create: { width: 600, height: 300, channels: 3, background: '#cc3333' } }).png().toFile(path.join(project, 'plain.png'));
  await writeFile(path.join(project, 'notes.txt'), 'not an image');
  await writeFile(path.join(project, '.loupe', 'hidden.png'), await sharp(path.join(project, 'plain.png')).toBuffer());
  await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toFile(path.join(base, 'elsewhere.png'));
  await symlink(path.join(base, 'elsewhere.png'), path.join(project, 'link-out.png'));
  app = createAppProtocolHandler(renderer);
  open = project;
  images = createImageProtocolHandler({ media: createMediaService({ folder: () => open, renderer: localRenderer }) });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const get = (handler: (r: Request) => Promise<Response>, url: string, method = 'GET') => handler(new Request(url, { method }));

describe('app:// protocol', () => {
  it('serves the packaged renderer with the CSP and the right types', async () => {
    const index = await get(app, 'app://loupe/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(await index.text()).toContain('app.js');
    const script = await get(app, 'app://loupe/app.js?v=1');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('console.log(1)');
  });

  it('refuses traversal, other hosts, missing files and writes', async () => {
    // URL parsing collapses a "%2e%2e" segment before any handler sees it: this names renderer/outside.js.
    expect((await get(app, 'app://loupe/%2e%2e/outside.js')).status).toBe(404);
    expect((await get(app, 'app://loupe/assets/..%2F..%2Foutside.js')).status).toBe(403);
    expect((await get(app, 'app://other/index.html')).status).toBe(404);
    expect((await get(app, 'app://loupe/missing.js')).status).toBe(404);
    expect((await get(app, 'app://loupe/assets')).status).toBe(403);
    expect((await get(app, 'app://loupe/index.html', 'POST')).status).toBe(405);
    const head = await get(app, 'app://loupe/index.html', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('loupe-image:// protocol', () => {
  it('serves project images with EXIF orientation applied', async () => {
    const response = await get(images, 'loupe-image://files/sub%20dir/rotated.jpg');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('access-control-allow-origin')).toBe('app://loupe');
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([20, 40, 1]);
    const png = await get(images, 'loupe-image://files/plain.png');
    expect(png.headers.get('content-type')).toBe('image/png');
  });

  it('serves thumbnails no larger than 256 px', async () => {
    const response = await get(images, 'loupe-image://thumbs/plain.png');
    expect(response.status).toBe(200);
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 256, 128]);
  });

  it.each([
    // Collapsed by URL parsing to files/elsewhere.png, which the project does not have.
    ['loupe-image://files/%2e%2e/elsewhere.png', 404],
    ['loupe-image://files/sub%20dir/..%2f..%2felsewhere.png', 403],
    ['loupe-image://files/%2Fetc%2Fpasswd', 403],
    ['loupe-image://files/plain.png%00.jpg', 403],
    ['loupe-image://files/link-out.png', 403],
    ['loupe-image://files/notes.txt', 403],
    ['loupe-image://files/.loupe/hidden.png', 403],
    ['loupe-image://files/nope.png', 404],
    ['loupe-image://elsewhere/plain.png', 404],
  ])('refuses %s with %i', async (url, status) => {
    expect((await get(images, url)).status).toBe(status);
  });

  it('serves nothing while no project is open', async () => {
    open = null;
    try {
      expect((await get(images, 'loupe-image://files/plain.png')).status).toBe(404);
    } finally {
      open = project;
    }
  });
});
