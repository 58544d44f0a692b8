import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPayload, Reply } from '../../app/ipc/contract.js';
import type { Dispatch } from '../ipc/dispatcher.js';
import { partPath } from '../models/download.js';
import { startHttpsServer, type TestHttpsServer } from '../models/fixtures/https-server.js';
import { sendSlowly } from '../models/fixtures/send-slowly.js';
import type { ProjectStore } from '../store/index.js';
import { dispatcherOver, servicesOver } from '../testing/services.test-support.js';
import type { Services } from './index.js';
import { projectModelDir } from './models.js';

const fixtureScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'models', 'fixtures', 'tiny_rcnn.py');
let base: string;
let onnx: string;
let onnxBytes: Buffer;
let store: ProjectStore | null = null;
let services: Services;
let dispatch: Dispatch;
let server: TestHttpsServer;
let origin: string;
let slow = false;
const ranges: (string | undefined)[] = [];
const events: EventPayload<'models.download'>[] = [];

const shippedCard = {
  name: 'Shipped shapes', format: 'torchvision-maskrcnn', labels: ['__background__', 'circle', 'star'],
  input: { name: 'images', minSize: 256, maxSize: 640 }, outputs: { boxes: 'boxes', labels: 'labels', scores: 'scores', masks: 'masks' },
  metrics: { maskAP50: 0.9 },
};

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'loupe-model-service-'));
  await mkdir(path.join(base, 'shipped'));
  await mkdir(path.join(base, 'project'));
  onnx = path.join(base, 'shipped', 'shapes.onnx');
  execFileSync('/usr/bin/python3', [fixtureScript, onnx]);
  onnxBytes = await readFile(onnx);
  await writeFile(path.join(base, 'shipped', 'shapes.json'), JSON.stringify(shippedCard));
  const big = onnxBytes;
  server = await startHttpsServer((req, res) => {
    if (req.url !== '/m.onnx') return void res.writeHead(404).end();
    ranges.push(req.headers.range);
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const body = big.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'Content-Length': body.length,
      ...(start > 0 && { 'Content-Range': `bytes ${start}-${big.length - 1}/${big.length}` }),
    });
    if (!slow) return void res.end(body);
    sendSlowly(res, body, 16, 20); // long enough for a cancel to land mid-transfer
  });
  origin = server.origin;

  services = servicesOver(null, {
    models: {
      shippedDir: path.join(base, 'shipped'),
      userDir: path.join(base, 'user'),
      progressIntervalMs: 0,
      // The tests' local server: trusted here only, and on a loopback address.
      download: { trustedCertificates: server.certificate, allowPrivateHosts: true },
    },
    emit: (event, payload) => {
      if (event === 'models.download') events.push(payload as EventPayload<'models.download'>);
    },
  });
  dispatch = dispatcherOver(services);
});

afterAll(async () => {
  await server.close();
  await services.close();
  await rm(base, { recursive: true, force: true });
});

async function call<T>(channel: string, request: unknown): Promise<T> {
  const reply = (await dispatch(channel, request)) as Reply<T>;
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.value;
}

async function refusal(channel: string, request: unknown): Promise<{ code: string; message: string }> {
  const reply = await dispatch(channel, request);
  expect(reply.ok).toBe(false);
  return (reply as { error: { code: string; message: string } }).error;
}

async function finished(downloadId: number): Promise<EventPayload<'models.download'>> {
  await expect.poll(() => events.find((e) => e.downloadId === downloadId && e.state !== 'running')).toBeTruthy();
  return events.find((e) => e.downloadId === downloadId && e.state !== 'running')!;
}

/** A file as main's dialog hands it out (files.choose): its handle. */
const chosen = (purpose: 'model-onnx' | 'model-card' | 'model-yaml', file: string) => services.files.grant(purpose, file).handle;

type Installed = { models: { id: number | null; source: string; name: string; classes: string[]; onnxPath: string }[]; providers: string[] };
const form = (name: string) => ({ name, format: 'torchvision-maskrcnn', labels: ['circle', 'star'] });

describe('models.* channels over the model manager', () => {
  it('lists the shipped model with its classes and metrics, and the providers this platform offers', async () => {
    const listed = await call<Installed>('models.installed', {});
    expect(listed.models).toMatchObject([{ id: null, source: 'shipped', name: 'Shipped shapes', classes: ['circle', 'star'], metrics: { maskAP50: 0.9 } }]);
    expect(listed.providers).toContain('cpu');
  });

  it('registers listed models in the open project, so the UI can pre-label with their id', async () => {
    store = await services.project.open(path.join(base, 'project'));
    const listed = await call<Installed>('models.installed', {});
    const id = listed.models[0]!.id!;
    expect(id).toBeGreaterThan(0);
    expect(store.models.get(id as never)).toMatchObject({
      name: 'Shipped shapes', path: onnx, sha256: createHash('sha256').update(onnxBytes).digest('hex'),
    });
    expect((await call<Installed>('models.installed', {})).models[0]!.id).toBe(id);
  });

  it('imports from a form into the project folder, and refuses a second import of the same name', async () => {
    const imported = await call<{ model: { source: string; onnxPath: string; id: number } }>('models.import', {
      kind: 'form', onnx: chosen('model-onnx', onnx), form: form('Mine'), target: 'project',
    });
    expect(imported.model.source).toBe('project');
    expect(imported.model.onnxPath).toBe(path.join(projectModelDir(store!), 'mine.onnx'));
    const again = await refusal('models.import', { kind: 'form', onnx: chosen('model-onnx', onnx), form: form('Mine'), target: 'project' });
    expect(again.code).toBe('conflict');
    expect(again.message).toMatch(/mine\.onnx already exists; it is never overwritten/);
  });

  it('answers bad forms and files as invalid requests that say what is wrong', async () => {
    const badForm = await refusal('models.import', { kind: 'form', onnx: chosen('model-onnx', onnx), form: { ...form('x'), labels: [] }, target: 'user' });
    expect(badForm).toMatchObject({ code: 'invalid-request' });
    expect(badForm.message).toMatch(/labels: list at least one class/);
    const yaml = path.join(base, 'yolo.yaml');
    await writeFile(yaml, 'type: yolov8_seg\nname: y\nmodel_path: shapes.onnx\nclasses: [a]\n');
    const yolo = await refusal('models.import', { kind: 'xanylabeling', yaml: chosen('model-yaml', yaml) });
    expect(yolo.code).toBe('invalid-request');
    expect(yolo.message).toMatch(/type "yolov8_seg" has no Loupe format/);
    const shape = await refusal('models.import', { kind: 'card', onnx: chosen('model-onnx', onnx) });
    expect(shape.code).toBe('invalid-request');
  });

  it('downloads with progress events ending in done, and a wrong checksum ends in failed', async () => {
    const sha = createHash('sha256').update(onnxBytes).digest('hex');
    const { downloadId } = await call<{ downloadId: number }>('models.download', { url: `${origin}/m.onnx`, sha256: sha, form: form('Fetched') });
    const done = await finished(downloadId);
    expect(done).toMatchObject({ state: 'done', received: onnxBytes.length, total: onnxBytes.length, error: null, model: { name: 'Fetched', source: 'user' } });
    expect(events.filter((e) => e.downloadId === downloadId && e.state === 'running').length).toBeGreaterThan(0);

    const wrong = await call<{ downloadId: number }>('models.download', { url: `${origin}/m.onnx`, sha256: 'a'.repeat(64), form: form('Wrong sum') });
    expect(await finished(wrong.downloadId)).toMatchObject({ state: 'failed', error: expect.stringMatching(/sha256 mismatch/) });
    expect(existsSync(path.join(base, 'user', 'wrong-sum.onnx'))).toBe(false);
  });

  it('cancels a download, keeps the partial file, and resumes it when started again', async () => {
    const sha256 = createHash('sha256').update(onnxBytes).digest('hex');
    slow = true;
    try {
      const { downloadId } = await call<{ downloadId: number }>('models.download', { url: `${origin}/m.onnx`, sha256, form: form('Slow') });
      await expect.poll(() => events.some((e) => e.downloadId === downloadId && e.received > 64)).toBe(true);
      await call('models.cancelDownload', { downloadId });
      expect(await finished(downloadId)).toMatchObject({ state: 'cancelled', error: expect.stringMatching(/cancelled/) });
      expect(existsSync(partPath(path.join(base, 'user', 'slow.onnx')))).toBe(true);
      expect((await refusal('models.cancelDownload', { downloadId })).code).toBe('not-found');
    } finally {
      slow = false;
    }
    const resumed = await call<{ downloadId: number }>('models.download', { url: `${origin}/m.onnx`, sha256, form: form('Slow') });
    expect(await finished(resumed.downloadId)).toMatchObject({ state: 'done', model: { name: 'Slow' } });
    expect(ranges.at(-1)).toMatch(/^bytes=[1-9]\d*-$/);
    expect(await readFile(path.join(base, 'user', 'slow.onnx'))).toEqual(onnxBytes);
  });

  it('refuses a download without a sha256 before fetching anything, and ends an http download as failed', async () => {
    const before = ranges.length;
    const error = await refusal('models.download', { url: `${origin}/m.onnx`, form: form('Unchecked') });
    expect(error).toEqual({ code: 'invalid-request', message: expect.stringMatching(/needs the sha256 of the file/) });
    const sha256 = createHash('sha256').update(onnxBytes).digest('hex');
    const plain = await call<{ downloadId: number }>('models.download', { url: origin.replace('https:', 'http:') + '/m.onnx', sha256, form: form('Plain') });
    expect(await finished(plain.downloadId)).toMatchObject({ state: 'failed', error: expect.stringMatching(/only https URLs are downloaded, not "http"/) });
    expect(ranges.length).toBe(before);
  });

  it('refuses a download whose form is wrong before fetching anything', async () => {
    const error = await refusal('models.download', { url: `${origin}/m.onnx`, form: { ...form('x'), format: 'yolo' } });
    expect(error.code).toBe('invalid-request');
    expect(error.message).toMatch(/format must be one of/);
  });
});
