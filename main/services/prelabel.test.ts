// The pre-label service behind the desktop app and `loupe serve`: a real sample folder, the real model in
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
import { ConflictError } from '../../app/model/index.js';
import { openProject } from '../store/index.js';
import { createServices, type Services } from './index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shipped = path.join(root, 'resources', 'models', 'loupe-shapes.json');
const card = existsSync(shipped) ? shipped : path.join(root, 'tools', 'model', 'runs', 'smoke', 'smoke.json');

let work: string;
let folder: string;
const events: { event: EventName; payload: unknown }[] = [];

function services(): Services {
  return createServices({
    models: { shippedDir: path.dirname(card), userDir: path.join(work, 'user-models') },
    emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void events.push({ event, payload }),
  });
}

const progress = () => events.filter((e) => e.event === 'prelabel.progress').map((e) => e.payload as RunProgress);

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'loupe-prelabel-service-'));
  folder = path.join(work, 'samples');
  // Three copies of the samples, so closing after the first written batch leaves images to do.
  for (const copy of ['a', 'b', 'c']) {
    await cp(path.join(root, 'resources', 'samples'), path.join(folder, copy), { recursive: true, filter: (src) => !src.includes(`${path.sep}.loupe`) });
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('pre-label service', () => {
  it('opens (scans) a folder, runs one pre-label at a time, and closing ends the run with its results written', async () => {
    const first = services();
    const store = await first.project.open(folder);
    const total = store.images.list({ after: null, limit: 1000 }).items.length;
    expect(total).toBeGreaterThanOrEqual(5);

    const started = await first.prelabel.start({ threshold: 0.05 });
    expect(started).toMatchObject({ state: 'running', total, eta: null });
    // 'auto' on a machine without CUDA: the CPU, saying why, in a pool of workers laid out for this machine's cores.
    const layout = cpuLayout(os.availableParallelism());
    expect(started.engine).toEqual({ provider: 'cpu', fallback: expect.stringMatching(/^CUDA provider unavailable: .+; using CPU$/), ...layout });
    expect(runProgressSchema.parse(started)).toEqual(started);
    expect(first.prelabel.busy()).toBe(true);
    await expect(first.prelabel.start({})).rejects.toThrow(ConflictError);
    await expect(first.prelabel.start({})).rejects.toThrow(/still going; cancel it first/);

    await expect.poll(() => events.some((e) => e.event === 'images.changed'), { timeout: 60_000 }).toBe(true);
    await first.close();
    expect(first.prelabel.busy()).toBe(false);
    expect(first.project.current()).toBeNull();
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
    const store = await second.project.open(folder);
    const left = store.images.list({ status: 'new', after: null, limit: 1000 }).items.length;
    expect(left).toBeGreaterThan(0);
    // The model of the first run, named by its id as the UI's picker does.
    const model = store.prelabel.lastModel()!;
    events.length = 0;
    const started = await second.prelabel.start({ modelId: model.modelId, threshold: 0.05 });
    expect(started.total).toBe(left);
    await expect.poll(() => progress().at(-1)?.state, { timeout: 120_000 }).toBe('done');
    expect(store.images.list({ status: 'new', after: null, limit: 1000 }).items).toEqual([]);
    await second.close();
  });

  it('names what is missing when no model is installed or the id is unknown', async () => {
    const empty = createServices({ models: { shippedDir: path.join(work, 'none'), userDir: path.join(work, 'none-either') }, emit: () => {} });
    // A project with no run yet, so it has no active model either.
    const fresh = path.join(work, 'fresh');
    await cp(path.join(root, 'resources', 'samples'), fresh, { recursive: true, filter: (src) => !src.includes(`${path.sep}.loupe`) });
    await empty.project.open(fresh);
    await expect(empty.prelabel.start({})).rejects.toThrow('no model is installed; import one first');
    await expect(empty.prelabel.start({ modelId: 999 as never })).rejects.toThrow('model 999 does not exist');
    expect(() => empty.prelabel.cancel(5 as never)).toThrow('run 5 is not in progress');
    await empty.close();
  });

  it('passes the chosen execution provider to the run, which refuses one this platform lacks', async () => {
    expect(channels['prelabel.start'].req.shape.provider.unwrap().options).toEqual([...PROVIDER_CHOICES]);
    const chosen = services();
    await chosen.project.open(folder);
    const foreign = process.platform === 'darwin' ? 'dml' : 'coreml';
    await expect(chosen.prelabel.start({ provider: foreign })).rejects.toThrow(new RegExp(`\\('${foreign}'\\) is not available on ${process.platform}`));
    expect(chosen.prelabel.busy()).toBe(false);
    await chosen.close();
  });
});
