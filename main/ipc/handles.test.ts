// Paths only from main: every channel that takes a path takes a handle main handed out, for that purpose, and refuses
// a path, a handle it never issued and a handle issued for something else, before any file is read or written.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { channels, pathHandleSchema, type Channel, type Reply } from '../../app/ipc/contract.js';
import { writeImage } from '../fs/images.test-support.js';
import { scanFolder } from '../fs/index.js';
import type { FileChooser, Services } from '../services/index.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { dispatcherOver, servicesOver } from '../testing/services.test-support.js';
import type { Dispatch } from './dispatcher.js';

let work: string;
let folder: string;
let other: string;
let userModels: string;
let store: ProjectStore;
let services: Services;
let dispatch: Dispatch;
/** What main's dialog answers; absent as in a browser page. */
let chooser: FileChooser | undefined;

/** A handle that is well formed but was never handed out. */
const FORGED = 'AAAAAAAAAAAAAAAAAAAAAA';

async function refusal(channel: string, request: unknown): Promise<{ code: string; message: string }> {
  const reply = (await dispatch(channel, request)) as Reply<unknown>;
  if (reply.ok) throw new Error(`${channel} accepted ${JSON.stringify(request)}`);
  return reply.error;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'loupe-handles-'));
  folder = path.join(work, 'photos');
  other = path.join(work, 'elsewhere');
  userModels = path.join(work, 'user-models');
  await mkdir(other);
  await writeImage(folder, 'a.jpg', { width: 8, height: 6, seed: 1 });
  store = openProject(folder);
  await scanFolder(store);
  services = servicesOver(store, {
    models: { shippedDir: path.join(work, 'no-shipped-models'), userDir: userModels },
    chooseFile: (purpose, projectFolder) => (chooser ? chooser(purpose, projectFolder) : Promise.resolve(null)),
  });
  dispatch = dispatcherOver(services);
});

afterAll(async () => {
  await services.close();
  await rm(work, { recursive: true, force: true });
});

/** Every channel whose request holds a handle somewhere, found in the contract's schemas. */
function channelsTakingHandles(): Channel[] {
  const holdsHandle = (schema: z.core.$ZodType): boolean => {
    if (schema === pathHandleSchema) return true;
    const def = schema._zod.def as unknown as Record<string, unknown>;
    const inner = [def.innerType, def.in, def.out, def.element, ...(Array.isArray(def.options) ? def.options : []),
      ...(def.shape && typeof def.shape === 'object' ? Object.values(def.shape) : [])];
    return inner.some((child) => child !== undefined && child !== null && typeof child === 'object' && '_zod' in child && holdsHandle(child as z.core.$ZodType));
  };
  return (Object.keys(channels) as Channel[]).filter((channel) => holdsHandle(channels[channel].req));
}

describe('each channel that takes a path', () => {
  it('is one of those tested here', () => {
    expect(channelsTakingHandles().sort()).toEqual(['export.coco', 'models.import', 'project.open']);
  });

  it('project.open refuses a path, a forged handle and a handle handed out for a file; the project stays open', async () => {
    expect(await refusal('project.open', { folder: other })).toMatchObject({ code: 'invalid-request', message: expect.stringMatching(/expected a handle main handed out, not a path/) });
    expect(await refusal('project.open', { folder: FORGED })).toEqual({
      code: 'not-found', message: 'project-folder: this handle was not handed out by Loupe for it; choose the folder again',
    });
    const card = services.files.grant('model-card', other);
    expect(await refusal('project.open', { folder: card.handle })).toMatchObject({ code: 'not-found' });
    expect(services.project.current()?.folder).toBe(folder);
    expect(existsSync(path.join(other, '.loupe'))).toBe(false);
  });

  it('export.coco refuses a path, a forged handle and a handle handed out to read a model card; nothing is written', async () => {
    const victim = path.join(work, 'victim.json');
    await writeFile(victim, '{"mine": true}');
    // The field that once named the file is refused by name, not dropped (an export would then go elsewhere unasked).
    expect(await refusal('export.coco', { path: victim })).toMatchObject({ code: 'invalid-request', message: expect.stringMatching(/path/) });
    expect(await refusal('export.coco', { file: victim })).toMatchObject({ code: 'invalid-request' });
    expect(await refusal('export.coco', { file: FORGED })).toMatchObject({ code: 'not-found', message: expect.stringMatching(/^export-coco: this handle was not handed out/) });
    const readOnly = services.files.grant('model-card', victim);
    expect(await refusal('export.coco', { file: readOnly.handle })).toMatchObject({ code: 'not-found' });
    expect(await readFile(victim, 'utf8')).toBe('{"mine": true}');
  });

  it('models.import refuses paths, forged handles and handles handed out for another purpose; nothing is copied', async () => {
    const onnx = services.files.grant('model-onnx', path.join(work, 'm.onnx'));
    const card = services.files.grant('model-card', path.join(work, 'm.json'));
    const form = { name: 'm', format: 'torchvision-maskrcnn', labels: ['a'] };
    for (const request of [
      { kind: 'card', onnxPath: '/etc/passwd', cardPath: '/etc/hosts' },
      { kind: 'card', onnx: '/etc/passwd', card: card.handle },
      { kind: 'form', onnx: '../../etc/passwd', form },
      { kind: 'xanylabeling', yaml: '/etc/hosts' },
    ]) {
      expect(await refusal('models.import', request)).toMatchObject({ code: 'invalid-request' });
    }
    for (const request of [
      { kind: 'card', onnx: FORGED, card: card.handle },
      { kind: 'card', onnx: onnx.handle, card: FORGED },
      // Swapped: each handle is good only for what it was chosen as.
      { kind: 'card', onnx: card.handle, card: onnx.handle },
      { kind: 'form', onnx: services.files.grant('project-folder', folder).handle, form },
      { kind: 'xanylabeling', yaml: card.handle },
    ]) {
      expect(await refusal('models.import', request)).toMatchObject({ code: 'not-found', message: expect.stringMatching(/this handle was not handed out by Loupe for it/) });
    }
    expect(existsSync(userModels)).toBe(false);
  });
});

describe('files.choose, the only way the UI gets a handle', () => {
  it('hands out what main\'s dialog chose, for that purpose only; null when cancelled; the same file keeps its handle', async () => {
    const target = path.join(work, 'out.json');
    chooser = async (purpose) => (purpose === 'export-coco' ? target : null);
    const reply = (await dispatch('files.choose', { purpose: 'export-coco' })) as Reply<{ file: { handle: string; name: string } }>;
    expect(reply).toMatchObject({ ok: true, value: { file: { name: 'out.json', handle: expect.stringMatching(/^[\w-]{22}$/) } } });
    const { handle } = (reply as { value: { file: { handle: string } } }).value.file;
    expect(JSON.stringify(reply)).not.toContain(work);
    expect(await dispatch('files.choose', { purpose: 'export-coco' })).toMatchObject({ ok: true, value: { file: { handle } } });
    expect(await dispatch('files.choose', { purpose: 'model-onnx' })).toEqual({ ok: true, value: { file: null } });
    expect(await refusal('files.choose', { purpose: 'project-folder' })).toMatchObject({ code: 'invalid-request' });
    expect(await refusal('models.import', { kind: 'form', onnx: handle, form: { name: 'm', format: 'torchvision-maskrcnn', labels: ['a'] } })).toMatchObject({ code: 'not-found' });
    const written = (await dispatch('export.coco', { file: handle })) as Reply<{ path: string }>;
    expect(written).toMatchObject({ ok: true, value: { path: target } });
    expect(JSON.parse(await readFile(target, 'utf8'))).toHaveProperty('annotations');
    chooser = undefined;
  });

  it('without a dialog in main (a browser page) says so, naming what does the same', async () => {
    const browser = servicesOver(store, { models: { shippedDir: path.join(work, 'no-shipped-models'), userDir: userModels } });
    try {
      const inBrowser = dispatcherOver(browser);
      expect(await inBrowser('files.choose', { purpose: 'export-coco' })).toEqual({
        ok: false,
        error: {
          code: 'conflict',
          message: 'not available in the browser: choosing where to save an export needs the desktop app\'s file dialog: leave it to write into the project\'s .loupe/exports, or run `loupe export <folder> --format coco --out FILE`',
        },
      });
      expect(await inBrowser('files.choose', { purpose: 'model-onnx' })).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringMatching(/`loupe serve <folder> --model CARD\.json`/) } });
    } finally {
      // Only the services' own processes: the store is shared with the suite.
      await browser.untrusted.dispose();
    }
  });
});

describe('error replies', () => {
  it('name no local path: a model file outside the project by its name, a file inside it by its project path', async () => {
    const onnx = services.files.grant('model-onnx', '/home/someone/Loupe models/x.onnx');
    const card = services.files.grant('model-card', '/home/someone/Loupe models/x.json');
    const outside = await refusal('models.import', { kind: 'card', onnx: onnx.handle, card: card.handle });
    expect(outside.message).toMatch(/x\.json/);
    expect(outside.message).not.toMatch(/\/home|someone|Loupe models/);
    const inside = services.files.grant('model-card', path.join(folder, 'models', 'y.json'));
    const reply = await refusal('models.import', { kind: 'card', onnx: onnx.handle, card: inside.handle });
    expect(reply.message).toMatch(/models\/y\.json/);
    expect(reply.message).not.toContain(work);
    expect(await readdir(work)).not.toContain('user-models');
  });
});
