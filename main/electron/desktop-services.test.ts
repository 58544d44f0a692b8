// The services behind the desktop app and `loupe serve`: a real sample folder, the real model in
// worker processes, a real SQLite file; a run ended by closing (as quitting the app does) is continued
// by the next start with only the images left.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName, EventPayload, RunProgress } from '../../app/ipc/contract.js';
import { channels, runProgressSchema } from '../../app/ipc/contract.js';
import { cpuLayout } from '../inference/pool.js';
import { PROVIDER_CHOICES } from '../inference/providers.js';
import { HandlerError } from '../ipc/handlers.js';
import { openProject } from '../store/index.js';
import { createDesktopServices, type DesktopServices } from './desktop-services.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shipped = path.join(root, 'resources', 'models', 'loupe-shapes.json');
const card = existsSync(shipped) ? shipped : path.join(root, 'tools', 'model', 'runs', 'smoke', 'smoke.json');

let work: string;
let folder: string;
const events: { event: EventName; payload: unknown }[] = [];

function services(): DesktopServices {
  return createDesktopServices({
    modelFolders: () => [{ source: 'user', dir: path.dirname(card) }],
    emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void events.push({ event, payload }),
  });
}

const progress = () => events.filter((e) => e.event === 'prelabel.progress').map((e) => e.payload as RunProgress);

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'loupe-desktop-services-'));
  folder = path.join(work, 'samples');
  // Three copies of the samples, so closing after the first written batch leaves images to do.
  for (const copy of ['a', 'b', 'c']) {
    await cp(path.join(root, 'resources', 'samples'), path.join(folder, copy), { recursive: true, filter: (src) => !src.includes(`${path.sep}.loupe`) });
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('desktop services', () => {
  it('opens (scans) a folder, runs one pre-label at a time, and closing ends the run with its results written', async () => {
    const first = services();
    const store = await first.open(folder);
    const total = store.images.list({ after: null, limit: 1000 }).items.length;
    expect(total).toBeGreaterThanOrEqual(5);

    const started = await first.prelabel.start(store, { threshold: 0.05 });
    expect(started).toMatchObject({ state: 'running', total, eta: null });
    // 'auto' on a machine without CUDA: the CPU, saying why, in a pool of workers laid out for this machine's cores.
    const layout = cpuLayout(os.availableParallelism());
    expect(started.engine).toEqual({ provider: 'cpu', fallback: expect.stringMatching(/^CUDA provider unavailable: .+; using CPU$/), ...layout });
    expect(runProgressSchema.parse(started)).toEqual(started);
    expect(first.busy()).toBe(true);
    await expect(first.prelabel.start(store, {})).rejects.toThrow(HandlerError);
    await expect(first.prelabel.start(store, {})).rejects.toThrow(/still going; cancel it first/);

    await expect.poll(() => events.some((e) => e.event === 'images.changed'), { timeout: 60_000 }).toBe(true);
    await first.close();
    expect(first.busy()).toBe(false);
    expect(first.current()).toBeNull();
    expect(['cancelled', 'done']).toContain(progress().at(-1)!.state);
    const measured = progress().find((p) => p.eta !== null);
    expect(measured?.rate).toBeGreaterThan(0);

    const reopened = openProject(folder);
    try {
      const predicted = reopened.images.list({ status: 'predicted', after: null, limit: 1000 }).items;
      expect(predicted.length).toBeGreaterThan(0);
      for (const image of predicted) expect(reopened.annotations.forImage(image.id).every((a) => a.origin === 'model')).toBe(true);
    } finally {
      reopened.close();
    }
  });

  it('continues at the next start with only the images left, by model id', async () => {
    const second = services();
    const store = await second.open(folder);
    const left = store.images.list({ status: 'new', after: null, limit: 1000 }).items.length;
    expect(left).toBeGreaterThan(0);
    const [model] = store.models.list();
    events.length = 0;
    const started = await second.prelabel.start(store, { modelId: model!.id, threshold: 0.05 });
    expect(started.total).toBe(left);
    await expect.poll(() => progress().at(-1)?.state, { timeout: 120_000 }).toBe('done');
    expect(store.images.list({ status: 'new', after: null, limit: 1000 }).items).toEqual([]);
    await second.close();
  });

  it('names what is missing when no model is installed or the id is unknown', async () => {
    const empty = createDesktopServices({ modelFolders: () => [{ source: 'user', dir: path.join(work, 'none') }], emit: () => {} });
    const store = await empty.open(folder);
    await expect(empty.prelabel.start(store, {})).rejects.toThrow('no model is installed; import one first');
    await expect(empty.prelabel.start(store, { modelId: 999 as never })).rejects.toThrow('model 999 does not exist');
    expect(() => empty.prelabel.cancel(5 as never)).toThrow('run 5 is not in progress');
    await empty.close();
  });

  it('passes the chosen execution provider to the run, which refuses one this platform lacks', async () => {
    expect(channels['prelabel.start'].req.shape.provider.unwrap().options).toEqual([...PROVIDER_CHOICES]);
    const chosen = services();
    const store = await chosen.open(folder);
    const foreign = process.platform === 'darwin' ? 'dml' : 'coreml';
    await expect(chosen.prelabel.start(store, { provider: foreign })).rejects.toThrow(new RegExp(`\\('${foreign}'\\) is not available on ${process.platform}`));
    expect(chosen.busy()).toBe(false);
    await chosen.close();
  });
});
