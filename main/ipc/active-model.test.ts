// The project's active model through the handlers, on the real model service (the shipped cards) and the real
// pre-label service (a real run in worker processes): the picker's default and prelabel.start without a model.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EventName, EventPayload, Reply, Res } from '../../app/ipc/contract.js';
import { modelCards, randomScene, seededRandom, writeScene } from '../inference/testing.js';
import { createServices } from '../services/index.js';
import { dispatcherOver } from '../testing/services.test-support.js';

let work: string;
let folder: string;
const places = () => ({ shippedDir: path.dirname(modelCards().maskrcnn), userDir: path.join(work, 'user-models') });

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'loupe-active-model-'));
  folder = path.join(work, 'images');
  await mkdir(folder);
  const random = seededRandom(4);
  for (let i = 0; i < 2; i++) await writeScene(path.join(folder, `s${i}.png`), randomScene(random, 256, 192));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('starts on the shipped default, then on the model of the last run, which prelabel.start uses when none is named', async () => {
  const events: { event: EventName; payload: unknown }[] = [];
  const services = createServices({
    models: places(),
    emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void events.push({ event, payload }),
  });
  const dispatch = dispatcherOver(services);
  const call = async <T>(channel: string, request: unknown): Promise<T> => {
    const reply = (await dispatch(channel, request)) as Reply<T>;
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    return reply.value;
  };
  try {
    await call('project.open', { folder: services.files.grant('project-folder', folder).handle });
    const installed = await call<Res<'models.installed'>>('models.installed', {});
    expect(installed.active).toMatchObject({ name: 'loupe-shapes', cardPath: modelCards().maskrcnn });
    const zoo = installed.models.find((m) => m.name === 'loupe-shapes-zoo')!;

    const done = () => events.some((e) => e.event === 'prelabel.progress' && (e.payload as { state: string }).state === 'done');
    await call('prelabel.start', { modelId: zoo.id, threshold: 0.3 });
    await expect.poll(done, { timeout: 120_000 }).toBe(true);
    expect((await call<Res<'models.installed'>>('models.installed', {})).active).toMatchObject({ name: 'loupe-shapes-zoo', modelId: zoo.id });

    events.length = 0;
    const run = await call<Res<'prelabel.start'>>('prelabel.start', { threshold: 0.3 });
    await expect.poll(done, { timeout: 120_000 }).toBe(true);
    const store = services.project.current()!;
    expect(store.prelabel.list().find((r) => r.id === run.runId)!.modelId).toBe(zoo.id);
  } finally {
    await services.close();
  }
}, 300_000);
