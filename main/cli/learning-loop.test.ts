// The learning loop as a person runs it, each step a real `loupe` process on a generated folder with the real model
// and a short real training run (tools/model, 20 iterations at a small input size): pre-label, review 40 images,
// train a new version, evaluate both versions, train again with --activate through a Ctrl-C and a kill -9 (the same
// command continues each time), then pre-label the rest with the new active model. An image stored turned, with
// EXIF orientation 6, is among those trained on.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFile } from '../fs/hash.js';
import { randomScene, seededRandom, writeScene } from '../inference/testing.js';
import { venvPython } from '../learning/python.js';
import { learningRecords } from '../learning/records.js';
import { isHeldOut } from '../learning/split.js';
import type { TrainSummary } from '../learning/training.js';
import { openProject, processAlive, type ProjectStore } from '../store/index.js';

const BIN = fileURLToPath(new URL('../../bin/loupe.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHIPPED = path.join(ROOT, 'resources', 'models', 'loupe-shapes.json');
/** A short run at a small input size: the loop's mechanics, in about a minute of CPU. */
const TRAIN = ['--iterations', '20', '--min-size', '256', '--max-size', '320'];
/** Generous: training and exporting on a loaded 2-core machine. */
const STEP_TIMEOUT = 600_000;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `loupe` as a separate process; `done` resolves when it exits. */
function start(args: readonly string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { child, done, stderr: () => stderr };
}

const loupe = (args: readonly string[]) => start(args).done;

async function ok(args: readonly string[]): Promise<Run> {
  const run = await loupe(args);
  expect(run.status, `loupe ${args.join(' ')}\n${run.stderr}`).toBe(0);
  return run;
}

let work: string;
let folder: string;
const ROTATED = 'a/turned.jpg';

function withStore<T>(use: (store: ProjectStore) => T): T {
  const store = openProject(folder);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

/** A scene stored turned a quarter counter-clockwise with EXIF orientation 6 (shown upright), in the training split. */
async function writeTurnedScene(file: string): Promise<void> {
  for (let seed = 1; ; seed++) {
    const random = seededRandom(1000 + seed);
    const scene = randomScene(random, 256, 192, 4);
    if (scene.shapes.length < 2) continue;
    const upright = `${file}.png`;
    await writeScene(upright, scene);
    await sharp(await sharp(upright).rotate(270).jpeg({ quality: 92 }).toBuffer()).withMetadata({ orientation: 6 }).toFile(file);
    await rm(upright);
    if (!isHeldOut(await hashFile(file))) return;
  }
}

const hasPython = existsSync(venvPython()) || Boolean(process.env.LOUPE_PYTHON);

describe.skipIf(!hasPython)(hasPython ? 'the learning loop with loupe commands' : `skipped: ${venvPython()} is missing (tools/model/setup-venv.sh makes it)`, () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'loupe-loop-'));
    folder = path.join(work, 'project');
    await mkdir(path.join(folder, 'a'), { recursive: true });
    await mkdir(path.join(folder, 'b'));
    const random = seededRandom(14);
    // 39 scenes + the turned one to review in a/, 8 left for later in b/.
    for (let i = 0; i < 39; i++) await writeScene(path.join(folder, 'a', `${String(i).padStart(2, '0')}.png`), randomScene(random, 256, 192, 4));
    await writeTurnedScene(path.join(folder, ROTATED));
    for (let i = 0; i < 8; i++) await writeScene(path.join(folder, 'b', `${i}.png`), randomScene(random, 256, 192, 4));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  let first: TrainSummary;

  it('pre-labels, reviews 40 images and trains a new version on them', { timeout: STEP_TIMEOUT * 3 }, async () => {
    await ok(['prelabel', folder]);
    const reviewed = JSON.parse((await ok(['review', folder, '--only', 'a/**', '--accept-above', '0.5', '--mark-reviewed', '--json'])).stdout);
    expect(reviewed).toMatchObject({ images: 40, markedReviewed: 40 });
    const turned = withStore((store) => {
      const image = store.images.getByPath(ROTATED)!;
      return { image, accepted: store.annotations.forImage(image.id).filter((a) => a.state === 'accepted').length };
    });
    expect(turned.image).toMatchObject({ orientation: 6, width: 256, height: 192 });
    expect(turned.accepted).toBeGreaterThan(0);

    const run = await ok(['train', folder, ...TRAIN, '--json']);
    first = JSON.parse(run.stdout) as TrainSummary;
    expect(first).toMatchObject({ state: 'completed', name: 'loupe-shapes-v2', resumed: false, from: { name: 'loupe-shapes' } });
    expect(first.training).toMatchObject({ iteration: 20, iterations: 20, reason: 'completed', newClasses: [], missingClasses: [] });
    const data = first.data!;
    expect(data.trainImages + data.heldoutImages).toBe(40);
    expect(data.heldoutImages).toBeGreaterThan(0);
    expect(data.classes.length + data.leftOut.length).toBe(4);
    // The turned image was trained on, at the size Loupe shows it.
    const train = JSON.parse(readFileSync(path.join(first.runDir, 'split', 'train', 'annotations.json'), 'utf8')) as {
      images: { id: number; file_name: string; width: number; height: number }[]; annotations: { image_id: number }[];
    };
    const entry = train.images.find((i) => i.file_name.endsWith(ROTATED))!;
    expect(entry).toMatchObject({ width: 256, height: 192 });
    expect(train.annotations.filter((a) => a.image_id === entry.id).length).toBe(turned.accepted);
    expect(existsSync(path.join(path.join(first.runDir, 'split', 'train'), entry.file_name))).toBe(true);
    // Registered, scored against the active model on the same held-out images, the decision stated.
    for (const file of ['loupe-shapes-v2.onnx', 'loupe-shapes-v2-boxes.onnx', 'loupe-shapes-v2-zoo.onnx', 'loupe-shapes-v2.json', 'loupe-shapes-v2.pt']) {
      expect(existsSync(path.join(folder, '.loupe', 'models', file)), file).toBe(true);
    }
    expect(first.scores).toMatchObject({ heldoutImages: data.heldoutImages, model: { name: 'loupe-shapes-v2' }, previous: { name: 'loupe-shapes' } });
    const { model, previous } = first.scores!;
    expect(first.activated).toBe(model.maskAP! > previous!.maskAP!);
    expect(first.decision).toContain(first.activated ? 'loupe-shapes-v2 is now the active model' : 'loupe-shapes stays the active model');
    withStore((store) => {
      const versions = learningRecords(store).versions();
      expect(versions).toEqual([expect.objectContaining({ family: 'loupe-shapes', version: 2, modelId: model.modelId, parentModelId: previous!.modelId, trainRunId: first.runId })]);
      expect(learningRecords(store).trainRuns().map((r) => r.status)).toEqual(['completed']);
    });
  });

  it('evaluates both versions on the held-out images: the figures training decided by', { timeout: STEP_TIMEOUT }, async () => {
    const v2 = path.join(folder, '.loupe', 'models', 'loupe-shapes-v2.json');
    const run = await ok(['evaluate', folder, '--model', SHIPPED, '--model', v2, '--json']);
    const result = JSON.parse(run.stdout) as { split: string; images: number; models: { name: string; summary: { mask: { AP: number }; box: { AP: number }; suggested: { score: number }; perClass: unknown[] } }[] };
    expect(result).toMatchObject({ split: 'heldout', images: first.data!.heldoutImages });
    const [shipped, trained] = result.models;
    expect(shipped!.name).toBe('loupe-shapes');
    expect(trained!.name).toBe('loupe-shapes-v2');
    // The same images, the same models run afresh: the same figures as when training compared them.
    expect(shipped!.summary.mask.AP).toBe(first.scores!.previous!.maskAP);
    expect(trained!.summary.mask.AP).toBe(first.scores!.model.maskAP);
    expect(trained!.summary.box.AP).toBe(first.scores!.model.boxAP);
    expect(trained!.summary.perClass.length).toBe(4);
    expect(trained!.summary.suggested.score).toBeGreaterThan(0);
    const text = (await ok(['evaluate', folder, '--model', v2, '--split', 'all'])).stdout;
    expect(text).toMatch(/^all reviewed images: 40, instances: \d+/);
    expect(text).toMatch(/loupe-shapes-v2, per class \(mask AP; precision, recall, F1 at 0\.\d+; suggested threshold\):/);
  });

  it('trains again with --activate through a Ctrl-C and a kill -9, the same command continuing each time', { timeout: STEP_TIMEOUT * 3 }, async () => {
    const args = ['train', folder, ...TRAIN, '--activate', '--json'];
    const checkpoint = path.join(folder, '.loupe', 'train', 'loupe-shapes-v3', 'checkpoint', 'last.pt');
    const iterationOf = (store: ProjectStore) => learningRecords(store).trainRuns().at(-1)!;

    // Ctrl-C once a checkpoint is written: it stops at the next one and says how to continue.
    const interrupted = start(args);
    await expect.poll(() => existsSync(checkpoint), { timeout: STEP_TIMEOUT, interval: 200 }).toBe(true);
    interrupted.child.kill('SIGINT');
    const stopped = await interrupted.done;
    expect(stopped.status, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('stopping loupe-shapes-v3 at the next checkpoint');
    expect(JSON.parse(stopped.stdout)).toMatchObject({ state: 'interrupted', name: 'loupe-shapes-v3' });
    withStore((store) => expect(iterationOf(store)).toMatchObject({ status: 'interrupted', stage: 'train' }));

    // kill -9 mid-training: the training process stops at its next checkpoint once its parent is gone.
    const killed = start(args);
    await expect.poll(() => /resuming training at iteration \d+/.test(killed.stderr()), { timeout: STEP_TIMEOUT, interval: 200 }).toBe(true);
    await expect.poll(() => withStore((store) => iterationOf(store).childPid), { timeout: STEP_TIMEOUT, interval: 200 }).not.toBeNull();
    const trainer = withStore((store) => iterationOf(store).childPid!);
    killed.child.kill('SIGKILL');
    await killed.done;
    await expect.poll(() => processAlive(trainer), { timeout: STEP_TIMEOUT, interval: 200 }).toBe(false);

    const resumed = await ok(args);
    const summary = JSON.parse(resumed.stdout) as TrainSummary;
    expect(summary).toMatchObject({ state: 'completed', name: 'loupe-shapes-v3', resumed: true, activated: true });
    expect(summary.training).toMatchObject({ iteration: 20, iterations: 20 });
    expect(summary.decision).toMatch(/^loupe-shapes-v3 is now the active model: asked for with --activate/);
    expect(resumed.stderr).toMatch(/continuing loupe-shapes-v3 \(run \d+\) from its train stage/);
    const resumedAt = Number(/resuming training at iteration (\d+)/.exec(resumed.stderr)?.[1]);
    expect(resumedAt).toBeGreaterThanOrEqual(5);
    // The same reviewed truth, split the same way as for the first version.
    expect(summary.data).toEqual(first.data);
    withStore((store) => expect(learningRecords(store).trainRuns().map((r) => [r.name, r.status])).toEqual([
      ['loupe-shapes-v2', 'completed'], ['loupe-shapes-v3', 'completed'],
    ]));
  });

  it('pre-labels the rest with the new active model, leaving the reviewed images alone, and queues the most uncertain first', { timeout: STEP_TIMEOUT }, async () => {
    const before = withStore((store) => store.images.list({ status: 'reviewed', limit: 100 }).items.map((i) => store.annotations.forImage(i.id)));
    const run = await ok(['prelabel', folder]);
    expect(run.stderr).toMatch(/^model loupe-shapes-v3 /m);
    expect(run.stdout).toMatch(/reviewed images skipped: 40/);
    withStore((store) => {
      const v3 = store.models.list().find((m) => m.name === 'loupe-shapes-v3')!;
      expect(store.prelabel.list().at(-1)!.modelId).toBe(v3.id);
      const rest = store.images.list({ search: 'b/', limit: 100 }).items;
      expect(rest).toHaveLength(8);
      const predictions = rest.flatMap((i) => store.annotations.forImage(i.id));
      expect(predictions.length).toBeGreaterThan(0);
      expect(predictions.every((a) => a.modelId === v3.id && a.state === 'pending')).toBe(true);
      expect(store.images.list({ status: 'reviewed', limit: 100 }).items.map((i) => store.annotations.forImage(i.id))).toEqual(before);
    });
    const queue = JSON.parse((await ok(['stats', folder, '--queue', '3', '--json'])).stdout) as { queue: { path: string; uncertainty: number }[] };
    expect(queue.queue).toHaveLength(3);
    expect(queue.queue.every((q) => q.path.startsWith('b/'))).toBe(true);
    expect(queue.queue.map((q) => q.uncertainty)).toEqual([...queue.queue.map((q) => q.uncertainty)].sort((x, y) => y - x));
  });

  it('compares the active model with what was reviewed, without touching the annotations', { timeout: STEP_TIMEOUT }, async () => {
    const before = withStore((store) => store.images.list({ status: 'reviewed', limit: 100 }).items.map((i) => store.annotations.forImage(i.id)));
    const result = JSON.parse((await ok(['compare', folder, '--json'])).stdout) as {
      model: string; totals: { images: number; matched: number; missed: number; extra: number; disagreeing: number }; images: { path: string; missed: number; extra: number; lowOverlap: number }[];
    };
    expect(result.model).toBe('loupe-shapes-v3');
    expect(result.totals.images).toBe(40);
    expect(result.totals.disagreeing).toBe(result.images.filter((i) => i.missed + i.extra + i.lowOverlap > 0).length);
    withStore((store) => {
      expect(store.images.list({ status: 'reviewed', limit: 100 }).items.map((i) => store.annotations.forImage(i.id))).toEqual(before);
      expect(store.images.list({ disagreements: true, limit: 100 }).items.map((i) => i.path))
        .toEqual(result.images.filter((i) => i.missed + i.extra + i.lowOverlap > 0).map((i) => i.path).sort());
    });
  });
});
