// The pre-label job on a real folder, a real SQLite project file and the real model in a worker.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProgressSchema } from '../../app/ipc/contract.js';
import { AnnotationId, type Annotation, type ImageId } from '../../app/model/index.js';
import { scanFolder } from '../fs/index.js';
import { processWorkerPort, threadWorkerPort, type WorkerPort } from '../inference/client.js';
import { diffOf } from '../../app/history/diff.js';
import { updateOf } from '../store/store.test-support.js';
import { modelCards, randomScene, seededRandom, writeScene } from '../inference/testing.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { isRunning } from '../testing/processes.test-support.js';
import { PrelabelJob, type PrelabelEvent, type PrelabelJobOptions } from './prelabel-job.js';

const cardPath = modelCards().maskrcnn;
let folder: string;
let store: ProjectStore;

async function writeScenes(count: number, seed = 3): Promise<void> {
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    await writeScene(path.join(folder, `img-${String(i).padStart(2, '0')}.png`), randomScene(random, 320 + (i % 3) * 32, 256));
  }
}

async function runJob(options: Partial<PrelabelJobOptions> = {}, onEvent?: (event: PrelabelEvent, job: PrelabelJob) => void) {
  const job = await PrelabelJob.create({ store, cardPath, provider: 'cpu', threshold: 0.05, ...options });
  const events: PrelabelEvent[] = [];
  job.on((event) => {
    events.push(event);
    onEvent?.(event, job);
  });
  const summary = await job.run();
  return { job, summary, events };
}

function resultsByImage(modelId: number): Map<number, number> {
  const rows = store.db.prepare(`SELECT image_id AS imageId, count(*) AS n FROM prelabel_results WHERE model_id = ? GROUP BY image_id`).all(modelId) as {
    imageId: number;
    n: number;
  }[];
  return new Map(rows.map((row) => [row.imageId, row.n]));
}

function imageId(file: string): ImageId {
  return store.images.getByPath(file)!.id;
}

/**
 * Real worker processes, recorded so a test can kill one (SIGKILL) and count those still running. `poison` names
 * the images whose worker is killed as soon as it is handed them: an image that crashes the process that reads it.
 */
function trackedPorts(poison: (file: string) => boolean = () => false) {
  const pids: number[] = [];
  const kill = (pid: number) => {
    if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  };
  return {
    make: (): WorkerPort => {
      const port = processWorkerPort();
      pids.push(port.pid!);
      return {
        ...port,
        pid: port.pid,
        postMessage: (message) => {
          port.postMessage(message);
          if (message.type === 'predict' && poison(message.file)) kill(port.pid!);
        },
      };
    },
    kill: (index: number) => kill(pids[index]!),
    started: () => pids.length,
    running: () => pids.filter(isRunning).length,
  };
}

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-job-'));
});

afterEach(async () => {
  if (store?.db.open) store.close();
  await rm(folder, { recursive: true, force: true });
});

describe('a pre-label job', () => {
  it('labels every good image and records each broken file with its reason', async () => {
    await writeScenes(4);
    await writeFile(path.join(folder, 'empty.jpg'), '');
    await writeFile(path.join(folder, 'notes.png'), 'a text file with an image name');
    const good = await readFile(path.join(folder, 'img-00.png'));
    await writeFile(path.join(folder, 'truncated.png'), good.subarray(0, Math.floor(good.length * 0.6)));
    store = openProject(folder);
    await scanFolder(store);
    // Broken after the scan: the job meets it first.
    await writeFile(path.join(folder, 'img-03.png'), good.subarray(0, 200));

    const { summary, events } = await runJob();

    expect(summary.state).toBe('done');
    const labeled = ['img-00.png', 'img-01.png', 'img-02.png'];
    for (const file of labeled) {
      const image = store.images.getByPath(file)!;
      expect(image.status).toBe('predicted');
      const annotations = store.annotations.forImage(image.id);
      expect(annotations.length).toBeGreaterThan(0);
      for (const a of annotations) {
        expect(a).toMatchObject({ origin: 'model', modelId: expect.any(Number), state: 'pending' });
        expect(a.mask!.size).toEqual([image.height, image.width]);
      }
    }
    const failed = new Map(store.stats.failedImages().map((f) => [f.path, f.reason]));
    expect([...failed.keys()].sort()).toEqual(['empty.jpg', 'img-03.png', 'notes.png', 'truncated.png']);
    expect(failed.get('img-03.png')).toMatch(/^cannot decode: /);
    for (const reason of failed.values()) expect(reason.length).toBeGreaterThan(5);
    // It was scanned fine, so it failed in the run: 'error' with the run's reason, not 'new'.
    expect(store.images.getByPath('img-03.png')).toMatchObject({ status: 'error', error: expect.stringMatching(/^cannot decode: /) });
    // So is a file whose header the scan read but whose pixels are cut short; only what the scan could not read is unreadable.
    expect(store.images.getByPath('truncated.png')).toMatchObject({ status: 'error', error: failed.get('truncated.png') });
    expect(store.stats.unreadableImages().map((f) => f.path).sort()).toEqual(['empty.jpg', 'notes.png']);

    const doneEvents = events.filter((e) => e.type === 'image-done');
    expect(doneEvents.map((e) => e.type === 'image-done' && e.path).sort()).toEqual(labeled);
    expect(events.some((e) => e.type === 'image-failed' && e.path === 'img-03.png')).toBe(true);
    const last = events.filter((e) => e.type === 'progress').at(-1);
    expect(last).toMatchObject({ type: 'progress', progress: { state: 'done', done: summary.done, failed: summary.failed } });
    // The job's progress is the contract's own: what `prelabel.progress` carries, unchanged.
    if (last?.type === 'progress') expect(runProgressSchema.parse(last.progress)).toEqual(last.progress);
    expect(events.at(-1)).toMatchObject({ type: 'finished', summary: { state: 'done' } });
    expect(summary.done).toBe(3);
    expect(Object.values(summary.instancesByClass).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(summary.provider.provider).toBe('cpu');
    expect(store.prelabel.get(summary.runId)!.status).toBe('completed');

    // Only the images without a successful result are tried again.
    const retry = await runJob({ scope: 'pending' });
    expect(retry.job.resumed).toBe(false);
    expect(retry.summary).toMatchObject({ total: summary.failures.length, done: 0, failed: summary.failures.length });
  });

  it('refuses, in its worker process, an SVG or a HEIF put where an image was: only the loaders Loupe reads are enabled', async () => {
    await writeScenes(3);
    store = openProject(folder);
    await scanFolder(store);
    // After the scan, two files become formats libvips has loaders for (they decode in this test's process) but Loupe
    // never reads.
    await writeFile(path.join(folder, 'img-01.png'), '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="256"><rect width="320" height="256"/></svg>');
    await sharp({ create: { width: 352, height: 256, channels: 3, background: '#00f' } }).heif({ compression: 'av1' }).toFile(path.join(folder, 'img-02.png'));
    expect((await sharp(path.join(folder, 'img-01.png')).metadata()).format).toBe('svg');
    const { summary } = await runJob({ workers: 1 });
    expect(summary.done).toBe(1);
    expect(summary.failures.map((f) => [f.path, f.message]).sort()).toEqual([
      ['img-01.png', expect.stringMatching(/^unsupported format: SVG \(Loupe reads /)],
      ['img-02.png', expect.stringMatching(/^unsupported format: (HEIF|AVIF) \(Loupe reads /)],
    ]);
  });

  it("re-running replaces only the model's pending predictions and never touches what a person made", async () => {
    await writeScenes(2);
    store = openProject(folder);
    await scanFolder(store);
    const first = await runJob();
    const image = imageId('img-00.png');
    const predictions = store.annotations.forImage(image);
    expect(predictions.length).toBeGreaterThanOrEqual(1);
    const category = predictions[0]!.categoryId;
    const human: Annotation = {
      id: AnnotationId('human-box-1'),
      imageId: image,
      categoryId: category,
      bbox: [5, 6, 20, 30],
      mask: null,
      score: null,
      origin: 'human',
      modelId: null,
      state: 'pending',
    };
    const [target, ...rest] = predictions;
    const edited: Annotation = { ...target!, bbox: [1, 1, 10, 10], mask: null };
    store.annotations.apply(image, diffOf({ added: [human], updated: [updateOf(store.annotations, edited)] }));
    const accepted = rest[0] ? store.annotations.apply(image, diffOf({ updated: [updateOf(store.annotations, { ...rest[0], state: 'accepted' })] })).updated : [];
    const personal = () => store.annotations.forImage(image).filter((a) => a.origin !== 'model' || a.state !== 'pending');
    const before = personal();
    expect(before.length).toBe(2 + accepted.length);

    const second = await runJob();

    expect(second.summary.runId).not.toBe(first.summary.runId);
    expect(second.summary).toMatchObject({ skippedReviewed: 0, replaced: 0 });
    expect(personal()).toEqual(before);
    const pending = store.annotations.forImage(image).filter((a) => a.origin === 'model' && a.state === 'pending');
    const oldIds = new Set(predictions.map((p) => p.id));
    expect(pending.every((a) => !oldIds.has(a.id))).toBe(true);
    expect(store.images.get(image)!.status).toBe('in-review');
    expect([...resultsByImage(second.job.model.id).values()]).toEqual([1, 1]);
  });

  it('leaves reviewed images unchanged row by row through re-runs with each shipped model, and keeps one pending set per image', async () => {
    await writeScenes(4, 7);
    store = openProject(folder);
    await scanFolder(store);
    await runJob({ cardPath: modelCards().maskrcnn });
    const reviewed = ['img-00.png', 'img-02.png'].map(imageId);
    for (const id of reviewed) store.review.markReviewed(id, { threshold: 0.5 });
    const rows = () => ({
      images: store.db.prepare(`SELECT * FROM images WHERE id IN (${reviewed.join(', ')}) ORDER BY id`).all(),
      annotations: store.db.prepare(`SELECT * FROM annotations WHERE image_id IN (${reviewed.join(', ')}) ORDER BY rowid`).all(),
      history: store.db.prepare(`SELECT count(*) AS n FROM annotation_history WHERE image_id IN (${reviewed.join(', ')})`).get(),
    });
    const before = rows();
    expect(before.annotations.length).toBeGreaterThan(0);

    const pendingSets = () => ['img-01.png', 'img-03.png'].map((file) => {
      const models = store.annotations.forImage(imageId(file)).filter((a) => a.origin === 'model' && a.state === 'pending').map((a) => a.modelId);
      return new Set(models);
    });
    for (const card of [modelCards().zoo, modelCards().boxes, modelCards().maskrcnn]) {
      const previous = store.annotations.forImage(imageId('img-01.png')).length + store.annotations.forImage(imageId('img-03.png')).length;
      const { summary, job } = await runJob({ cardPath: card });
      expect(summary).toMatchObject({ state: 'done', total: 2, done: 2, skippedReviewed: 2, replaced: previous });
      expect(rows()).toEqual(before);
      // Each image not reviewed holds only the last model's pending predictions.
      for (const models of pendingSets()) expect([...models].every((m) => m === job.model.id)).toBe(true);
    }
  });

  it('replaces a worker that is killed mid-job and tries the images it held again: one result per image', async () => {
    await writeScenes(5);
    store = openProject(folder);
    await scanFolder(store);
    const ports = trackedPorts();
    const { summary, job } = await runJob({ workers: 1, workerPort: ports.make }, (event) => {
      if (event.type === 'image-done' && event.imageId === imageId('img-01.png')) ports.kill(0);
    });
    expect(summary).toMatchObject({ state: 'done', done: 5, failed: 0 });
    expect([...resultsByImage(job.model.id).values()]).toEqual([1, 1, 1, 1, 1]);
    // The first worker, its replacement, and one worker for each image tried again alone.
    expect(ports.started()).toBeGreaterThanOrEqual(3);
    await expect.poll(() => ports.running()).toBe(0);
  });

  it('fails an image that kills its worker, alone as well, as crashed, and goes on with the rest', async () => {
    await writeScenes(5);
    store = openProject(folder);
    await scanFolder(store);
    const ports = trackedPorts((file) => file.endsWith('img-02.png'));
    const { summary, job } = await runJob({ workers: 2, workerPort: ports.make });
    expect(summary).toMatchObject({ state: 'done', done: 4, failed: 1 });
    expect(summary.failures).toEqual([
      { imageId: imageId('img-02.png'), path: 'img-02.png', kind: 'crashed', message: expect.stringMatching(/crashed on this image, alone as well \(inference process exited with signal SIGKILL\)/) },
    ]);
    expect([...resultsByImage(job.model.id).values()]).toEqual([1, 1, 1, 1, 1]);
    expect(store.stats.failedImages().map((f) => f.path)).toEqual(['img-02.png']);
    await expect.poll(() => ports.running()).toBe(0);
  });

  it('stops as failed when images keep killing their workers, keeps what was written, and the next job continues the run', async () => {
    await writeScenes(5);
    store = openProject(folder);
    await scanFolder(store);
    const ports = trackedPorts(() => true);
    const crashed = await runJob({ workers: 1, inFlight: 1, batchSize: 1, workerPort: ports.make });
    expect(crashed.summary.state).toBe('failed');
    expect(crashed.summary.error).toMatch(/inference workers keep crashing: 3 images in a row/);
    expect(store.prelabel.get(crashed.summary.runId)!.status).toBe('failed');
    // The first two were recorded as crashed before the third showed the fault was not theirs alone.
    expect(crashed.summary.failures.map((f) => [f.path, f.kind])).toEqual([
      ['img-00.png', 'crashed'],
      ['img-01.png', 'crashed'],
    ]);
    await expect.poll(() => ports.running()).toBe(0);

    const again = await runJob();
    expect(again.job.resumed).toBe(true);
    expect(again.summary).toMatchObject({ runId: crashed.summary.runId, state: 'done', total: 3, done: 3 });
    expect([...resultsByImage(again.job.model.id).values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('stops as failed when a worker thread dies and no replacement can start', async () => {
    await writeScenes(3);
    store = openProject(folder);
    await scanFolder(store);
    let started = 0;
    let port: WorkerPort | null = null;
    const crashed = await runJob(
      {
        workers: 1,
        inFlight: 1,
        batchSize: 1,
        workerPort: () => {
          if (++started > 1) throw new Error('no more workers can start here');
          return (port = threadWorkerPort());
        },
      },
      (event) => {
        if (event.type === 'image-done' && event.imageId === imageId('img-00.png')) void port!.terminate();
      },
    );
    expect(crashed.summary.state).toBe('failed');
    expect(crashed.summary.error).toBe('no more workers can start here');
    expect(resultsByImage(crashed.job.model.id).size).toBe(1);
  });

  it('pauses, resumes and cancels after the image in flight, as its events show; running it again does the rest', async () => {
    await writeScenes(6);
    store = openProject(folder);
    await scanFolder(store);
    let doneSeen = 0;
    let pausedAt = -1;
    const timeline: string[] = [];
    const { summary, events, job } = await runJob({ inFlight: 1 }, (event, job) => {
      if (event.type === 'progress') timeline.push(event.progress.state);
      // Resumed from the paused event itself (no sleep): what matters is that pausing waited for idle.
      if (event.type === 'paused') {
        setImmediate(() => {
          timeline.push('resume');
          job.resume();
        });
      }
      if (event.type !== 'image-done') return;
      doneSeen++;
      timeline.push(`done ${doneSeen}`);
      if (doneSeen === 1) {
        job.pause();
        pausedAt = doneSeen;
      }
      if (doneSeen === 3) job.cancel();
    });
    expect(pausedAt).toBe(1);
    // Paused means idle: the 'paused' event comes once nothing is in flight, before any further image.
    const pausedEvent = events.findIndex((e) => e.type === 'paused');
    expect(events[pausedEvent]).toMatchObject({ type: 'paused', progress: { state: 'paused', done: 1 } });
    expect(events.slice(0, pausedEvent).filter((e) => e.type === 'image-done')).toHaveLength(1);
    const resumeIndex = timeline.indexOf('resume');
    // Nothing finished while paused; work went on after resume.
    expect(timeline.slice(timeline.indexOf('paused'), resumeIndex).filter((t) => t.startsWith('done'))).toEqual([]);
    expect(timeline.slice(resumeIndex)).toContain('done 2');
    expect(summary.state).toBe('cancelled');
    expect(summary.done).toBe(3);
    expect(events.at(-1)).toMatchObject({ type: 'finished', summary: { state: 'cancelled', done: 3, total: 6 } });
    expect(store.prelabel.get(summary.runId)!.status).toBe('cancelled');
    expect(resultsByImage(job.model.id).size).toBe(3);

    // The same job again continues the cancelled run with the images it had not done.
    const rest = await runJob();
    expect(rest.job.resumed).toBe(true);
    expect(rest.summary).toMatchObject({ runId: summary.runId, state: 'done', total: 3, done: 3 });
    expect([...resultsByImage(job.model.id).values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(store.prelabel.list().map((run) => run.status)).toEqual(['completed']);
  });

  it('cancel drops the images handed to the worker but not yet running: at most the one running finishes', async () => {
    await writeScenes(8);
    store = openProject(folder);
    await scanFolder(store);
    const inFlight = 4;
    const { summary, job } = await runJob({ inFlight, workers: 1 }, (event, job) => {
      if (event.type === 'image-done') job.cancel();
    });
    // When the first image is done, up to `inFlight` more are with the worker; only the one running may finish.
    expect(summary.state).toBe('cancelled');
    expect(summary.done).toBeGreaterThanOrEqual(1);
    expect(summary.done).toBeLessThanOrEqual(2);
    expect(resultsByImage(job.model.id).size).toBe(summary.done);

    const rest = await runJob();
    expect(rest.summary).toMatchObject({ state: 'done', total: 8 - summary.done, done: 8 - summary.done });
  });
});
