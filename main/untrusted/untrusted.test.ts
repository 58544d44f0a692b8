// The untrusted-files process: real files decoded in a real child process with only Loupe's image loaders enabled,
// a crash (the process killed by SIGSEGV while it reads a given file) recorded against that file while everything
// else goes on in a fresh process, and the scan, the image protocol and model imports all reading through it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../fs/images.test-support.js';
import { scanFolder } from '../fs/scan.js';
import { createMediaService, projectMedia } from '../media/index.js';
import { importWithForm, type ImportTarget } from '../models/manager.js';
import { openProject } from '../store/index.js';
import { servicesOver } from '../testing/services.test-support.js';
import { UntrustedFileCrashError, UntrustedFileError, UntrustedFiles, untrustedEntryPath, type UntrustedPort } from './client.js';
import { forkedChild } from './port.js';
import type { UntrustedRequest } from './protocol.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'loupe-untrusted-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An SVG, a PDF and a HEIF (AV1) file, each named .jpg: formats libvips has loaders for (but PDF) that Loupe never reads. */
async function disguisedFiles(folder: string): Promise<Record<'svg' | 'pdf' | 'heif', string>> {
  mkdirSync(folder, { recursive: true });
  const svg = path.join(folder, 'drawing.jpg');
  writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="red"/></svg>');
  const pdf = path.join(folder, 'document.jpg');
  writeFileSync(pdf, '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
    '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 30 20]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
  const heif = path.join(folder, 'photo.jpg');
  await sharp({ create: { width: 16, height: 8, channels: 3, background: '#0000ff' } }).heif({ compression: 'av1' }).toFile(heif);
  return { svg, pdf, heif };
}

/** The real process, killed with SIGSEGV (as a decoder's crash ends it) whenever it is sent work on a `poison` file. */
function crashingOn(poison: (file: string) => boolean): () => UntrustedPort {
  return () => {
    const port = forkedChild<UntrustedRequest, never>(untrustedEntryPath());
    return {
      ...port,
      pid: port.pid,
      postMessage: (message: UntrustedRequest) => {
        port.postMessage(message);
        const files = message.type === 'probeMany' ? message.files.map((f) => f.absolutePath)
          : message.type === 'probe' ? [message.file.absolutePath]
          : message.type === 'display' || message.type === 'thumbnail' ? [message.file]
          : message.type === 'graphNames' ? [message.onnxPath] : [message.cardPath];
        if (files.some(poison)) process.kill(port.pid!, 'SIGSEGV');
      },
    } as UntrustedPort;
  };
}

describe('only the image loaders Loupe reads', () => {
  it('refuses an SVG, a PDF and a HEIF named .jpg in the untrusted-files process, without running their loaders', async () => {
    const files = await disguisedFiles(path.join(work, 'disguised'));
    // This process has every loader libvips was built with: SVG and HEIF decode here, so their loaders exist. (This
    // libvips has no PDF loader at all: PDF is refused everywhere.)
    expect(await sharp(files.svg).metadata()).toMatchObject({ format: 'svg', width: 20 });
    expect(await sharp(files.heif).metadata()).toMatchObject({ format: 'heif', width: 16 });
    expect(sharp.format.pdf.input.file).toBe(false);
    const untrusted = new UntrustedFiles();
    try {
      for (const file of Object.values(files)) {
        const found = { path: path.basename(file), absolutePath: file, size: 1, mtimeMs: 0 };
        const probed = await untrusted.probe(found, true);
        // Refused from its first bytes, before any decoder (and libvips' loaders for these are blocked besides:
        // main/fs/image-loaders.test.ts).
        expect(probed, file).toMatchObject({ width: 0, height: 0, error: expect.stringMatching(/^unsupported format: (SVG|PDF|HEIF|AVIF) \(Loupe reads /) });
        await expect(untrusted.display(file)).rejects.toThrow(UntrustedFileError);
        await expect(untrusted.thumbnail(file)).rejects.toThrow(/unsupported format/);
      }
      // The same process reads every format Loupe does.
      for (const name of ['a.jpg', 'b.png', 'c.webp', 'd.tif', 'e.gif', 'f.bmp']) {
        const file = await writeImage(work, `formats/${name}`, { width: 30, height: 20 });
        expect(await untrusted.probe({ path: name, absolutePath: file, size: 1, mtimeMs: 0 }, true), name).toMatchObject({ width: 30, height: 20, error: null });
        expect((await sharp(await untrusted.thumbnail(file)).metadata()).format).toBe('jpeg');
      }
      expect(untrusted.started).toBe(1);
    } finally {
      await untrusted.dispose();
    }
  });
});

describe('a file that crashes the process', () => {
  it('is recorded by the scan as unreadable with why, the rest scanned in a fresh process', async () => {
    const folder = path.join(work, 'scan');
    for (let i = 0; i < 20; i++) await writeImage(folder, `img-${String(i).padStart(2, '0')}.png`, { width: 24, height: 16, seed: i });
    const untrusted = new UntrustedFiles(crashingOn((file) => file.endsWith('img-07.png')));
    const store = openProject(folder);
    try {
      const summary = await scanFolder(store, { untrusted, concurrency: 8 });
      expect(summary).toMatchObject({ files: 20, added: 20, errors: 1 });
      expect(summary.unreadable).toEqual([{ path: 'img-07.png', reason: 'crashed the process that reads it (was killed by SIGSEGV); it was not opened again' }]);
      const crashed = store.images.getByPath('img-07.png')!;
      expect(crashed).toMatchObject({ status: 'error', width: 0 });
      expect(crashed.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(store.images.list({ status: 'new', limit: 100 }).items).toHaveLength(19);
      // Started again after each crash: the batch's, and the file's own when it was tried alone.
      expect(untrusted.started).toBeGreaterThanOrEqual(3);
    } finally {
      store.close();
      await untrusted.dispose();
    }
  });

  it('is answered as unreadable by the image protocol and recorded, and the next image is served', async () => {
    const folder = path.join(work, 'media');
    const bad = await writeImage(folder, 'bad.png', { width: 24, height: 16 });
    await writeImage(folder, 'good.png', { width: 24, height: 16 });
    const untrusted = new UntrustedFiles(crashingOn((file) => file === bad));
    const recorded: [string, string, boolean][] = [];
    const media = createMediaService({ folder: () => folder, renderer: untrusted, onUnreadable: (...args) => void recorded.push(args) });
    try {
      expect(await media.get('thumbs', 'bad.png')).toEqual({ status: 422, message: expect.stringMatching(/^cannot show this image: crashed the process/) });
      expect(recorded).toEqual([['bad.png', expect.stringMatching(/was killed by SIGSEGV/), true]]);
      expect(await media.get('files', 'good.png')).toMatchObject({ status: 200, media: { type: 'image/png' } });
      expect(await media.get('thumbs', 'good.png')).toMatchObject({ status: 200, media: { type: 'image/jpeg' } });
    } finally {
      await untrusted.dispose();
    }
  });

  it('is recorded against its image by the services: status error with the reason, and the UI told', async () => {
    const folder = path.join(work, 'project');
    const bad = await writeImage(folder, 'bad.png', { width: 24, height: 16 });
    await writeImage(folder, 'good.png', { width: 24, height: 16 });
    const changed: unknown[] = [];
    let crash = false;
    const services = servicesOver(null, {
      untrustedPort: crashingOn((file) => crash && file === bad),
      emit: (event, payload) => void (event === 'images.changed' && changed.push(payload)),
    });
    try {
      const store = await services.project.open(folder);
      crash = true;
      const media = projectMedia(services);
      expect((await media.get('files', 'bad.png')).status).toBe(422);
      const image = store.images.getByPath('bad.png')!;
      expect(image).toMatchObject({ status: 'error', error: expect.stringMatching(/^crashed the process that reads it \(was killed by SIGSEGV\)/) });
      expect(changed).toEqual([{ ids: [image.id] }]);
      expect((await media.get('files', 'good.png')).status).toBe(200);
      expect(store.images.getByPath('good.png')!.status).toBe('new');
    } finally {
      await services.close();
    }
  });

  it('refuses a model import whose file crashes the checking process, and one that is not ONNX', async () => {
    const onnx = path.join(work, 'models', 'evil.onnx');
    mkdirSync(path.dirname(onnx), { recursive: true });
    writeFileSync(onnx, readFileSync(await writeImage(work, 'models/evil-source.jpg', { width: 30, height: 20 })));
    const target: ImportTarget = { dir: path.join(work, 'installed'), source: 'user' };
    const form = { name: 'Evil', format: 'torchvision-maskrcnn', labels: ['a'] };
    const crashing = new UntrustedFiles(crashingOn((file) => file === onnx));
    const plain = new UntrustedFiles();
    try {
      await expect(importWithForm(onnx, form, target, crashing)).rejects.toThrow(UntrustedFileCrashError);
      // Not an ONNX model: onnxruntime's refusal, read in that process, is the import's invalid input.
      const refused = await importWithForm(onnx, form, target, plain).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(UntrustedFileError);
      expect((refused as Error).message).toMatch(new RegExp(`^${onnx.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a loadable ONNX model: `));
      expect(plain.started).toBe(1);
    } finally {
      await crashing.dispose();
      await plain.dispose();
    }
  });
});
