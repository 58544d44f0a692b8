// `loupe prelabel` as a user runs it: a separate process on a real folder, killed with SIGKILL mid-job and run again.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnnotationId, type Annotation } from '../../../app/model/index.js';
import { modelCards, randomScene, seededRandom, writeScene } from '../../inference/testing.js';
import { openProject } from '../../store/index.js';
import { childrenOf, isRunning } from '../../testing/processes.test-support.js';
import { runLoupe } from '../cli.test-support.js';
import { diffOf } from '../../../app/history/diff.js';

const bin = fileURLToPath(new URL('../../../bin/loupe.js', import.meta.url));
const cardPath = modelCards().maskrcnn;
const IMAGES = 24;
let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-prelabel-'));
  const random = seededRandom(5);
  for (let i = 0; i < IMAGES; i++) {
    await writeScene(path.join(folder, `img-${String(i).padStart(2, '0')}.png`), randomScene(random, 320, 240));
  }
  await writeFile(path.join(folder, 'zero.jpg'), '');
  await writeFile(path.join(folder, 'readme.png'), 'plain text, not an image');
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

interface ResultRow {
  image_id: number;
  ok: number;
  instances: number;
  run_id: number;
}

function readDb<T>(query: (db: Database.Database) => T): T {
  const db = new Database(path.join(folder, '.loupe', 'project.db'), { readonly: true, fileMustExist: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

const results = () => readDb((db) => db.prepare(`SELECT image_id, ok, instances, run_id FROM prelabel_results ORDER BY image_id`).all() as ResultRow[]);
const modelAnnotations = () =>
  readDb((db) => db.prepare(`SELECT id, image_id FROM annotations WHERE origin = 'model' ORDER BY image_id, id`).all() as { id: string; image_id: number }[]);

/** Child processes of `pid` (Linux /proc). */

/**
 * Starts `loupe prelabel` and kills it with SIGKILL once `killAfter` results are committed; reports the processes
 * it had started (its inference workers) at that moment.
 */
function prelabelAndKill(killAfter: number): Promise<{ signal: NodeJS.Signals | null; workers: number[]; stderrOfAll: Promise<string> }> {
  const child = spawn(process.execPath, [bin, 'prelabel', folder, '--model', cardPath, '--threshold', '0.05', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let workers: number[] = [];
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The workers inherit the same stderr: it ends once the last of them has gone too.
  const stderrOfAll = new Promise<string>((resolve) => child.stderr.on('close', () => resolve(stderr)));
  const poll = setInterval(() => {
    try {
      if (results().length >= killAfter && child.pid !== undefined) {
        workers = childrenOf(child.pid);
        child.kill('SIGKILL');
      }
    } catch {
      // The database or its tables are not there yet.
    }
  }, 50);
  return new Promise((resolve) => {
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve({ signal, workers, stderrOfAll });
    });
  });
}

describe('loupe prelabel', () => {
  it('resumes after kill -9 with exactly one result per image, leaving what a person made alone', async () => {
    expect(runLoupe(['scan', folder]).status).toBe(0);
    const store = openProject(folder);
    const target = store.images.getByPath(`img-${IMAGES - 1}.png`)!;
    const [category] = store.categories.ensure(['circle']);
    const human: Annotation = {
      id: AnnotationId('drawn-by-a-person'),
      imageId: target.id,
      categoryId: category!.id,
      bbox: [10, 10, 40, 30],
      mask: null,
      score: null,
      origin: 'human',
      modelId: null,
      state: 'accepted',
    };
    store.annotations.apply(target.id, diffOf({ added: [human] }));
    store.close();

    const killed = await prelabelAndKill(3);
    expect(killed.signal).toBe('SIGKILL');
    // Each inference worker runs in its own process and leaves with its parent rather than hold the model forever.
    expect(killed.workers).toHaveLength(2);
    await expect.poll(() => killed.workers.filter(isRunning)).toEqual([]);
    // They leave quietly: a reply that finds the parent gone is not a stack trace on the user's terminal.
    expect(await killed.stderrOfAll).not.toMatch(/EPIPE|Error:|\n\s+at /);
    const beforeRestart = results();
    expect(beforeRestart.length).toBeGreaterThanOrEqual(3);
    expect(beforeRestart.length).toBeLessThan(IMAGES);
    const annotationsBefore = modelAnnotations();
    const runsBefore = readDb((db) => db.prepare(`SELECT id, status FROM prelabel_runs`).all());
    expect(runsBefore).toEqual([{ id: 1, status: 'running' }]);

    const resumed = runLoupe(['prelabel', folder, '--model', cardPath, '--threshold', '0.05']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming interrupted run 1: ${IMAGES - beforeRestart.length} images to pre-label`);
    expect(resumed.stdout).toMatch(new RegExp(`${IMAGES - beforeRestart.length} of ${IMAGES - beforeRestart.length} images pre-labeled, 0 failed`));
    expect(resumed.stdout).toMatch(/failures: 2\n(.*\n)*  readme\.png \(scan\): .+\n(.*\n)*  zero\.jpg \(scan\): .+/);
    expect(resumed.stdout).toMatch(/provider cpu \(CUDA provider unavailable: .*; using CPU\), \d+ workers? x \d+ threads?\n/);

    const after = results();
    expect(after.map((r) => r.image_id)).toEqual([...new Set(after.map((r) => r.image_id))]);
    expect(after.length).toBe(IMAGES);
    expect(after.every((r) => r.ok === 1 && r.run_id === 1)).toBe(true);
    // Images finished before the kill were not predicted again.
    const done = new Set(beforeRestart.map((r) => r.image_id));
    const kept = modelAnnotations().filter((a) => done.has(a.image_id));
    expect(kept).toEqual(annotationsBefore.filter((a) => done.has(a.image_id)));
    // Each image holds exactly the predictions its one result counted: nothing doubled by the crash.
    const perImage = readDb((db) =>
      db.prepare(`SELECT image_id, count(*) AS n FROM annotations WHERE origin = 'model' GROUP BY image_id`).all() as { image_id: number; n: number }[],
    );
    const counted = new Map(perImage.map((row) => [row.image_id, row.n]));
    for (const result of after) expect(counted.get(result.image_id) ?? 0).toBe(result.instances);

    const check = openProject(folder);
    expect(check.annotations.get(human.id)).toEqual(human);
    expect(check.prelabel.list().map((run) => run.status)).toEqual(['completed']);
    check.close();
  });

  it('runs one pre-label per folder: a second process is refused naming the live one, whose lock it takes over once dead', async () => {
    expect(runLoupe(['scan', folder]).status).toBe(0);
    const first = spawn(process.execPath, [bin, 'prelabel', folder, '--model', cardPath, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.on('exit', (_code, signal) => resolve(signal)));
    try {
      // The live run is visible from another process: its owner and its progress.
      await expect.poll(() => readDb((db) => db.prepare(`SELECT pid, state FROM run_lock`).get()), { timeout: 60_000 })
        .toEqual({ pid: first.pid, state: 'running' });
      const watcher = openProject(folder);
      try {
        expect(watcher.runLock.current()).toMatchObject({ pid: first.pid, ownedHere: false, total: IMAGES, runId: 1 });
        await expect.poll(() => watcher.runLock.current()?.done ?? 0, { timeout: 60_000 }).toBeGreaterThan(0);
        const startedAt = watcher.runLock.current()!.startedAt;
        const hhmm = `${String(new Date(startedAt).getHours()).padStart(2, '0')}:${String(new Date(startedAt).getMinutes()).padStart(2, '0')}`;
        const second = runLoupe(['prelabel', folder, '--model', cardPath]);
        expect(second).toEqual({
          status: 2,
          stdout: '',
          stderr: `loupe: ${folder}: a pre-label run is already in progress (pid ${first.pid}, started ${hhmm})\n`,
        });
      } finally {
        watcher.close();
      }
      first.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    } finally {
      first.kill('SIGKILL');
    }
    // Its owner is dead: the next run takes the lock over and resumes the run.
    const after = runLoupe(['prelabel', folder, '--model', cardPath, '--threshold', '0.5']);
    expect(after.status, after.stderr).toBe(0);
    expect(readDb((db) => db.prepare(`SELECT count(*) AS n FROM run_lock`).get())).toEqual({ n: 0 });
  });

  it('two runs started at once on an unscanned folder: one works, the other is refused cleanly or runs after it', async () => {
    const start = () => {
      const child = spawn(process.execPath, [bin, 'prelabel', folder, '--model', cardPath, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
    };
    const runs = await Promise.all([start(), start()]);
    for (const run of runs) {
      expect(run.stderr).not.toMatch(/UNIQUE constraint|SQLITE_BUSY|already exists/);
      if (run.code !== 0) expect(run.stderr).toMatch(new RegExp(`^loupe: ${folder}: a pre-label run is already in progress \\(pid \\d+, started \\d\\d:\\d\\d\\)\\n$`));
    }
    expect(runs.some((run) => run.code === 0)).toBe(true);
    expect(readDb((db) => db.prepare(`SELECT count(*) AS n FROM images`).get())).toEqual({ n: IMAGES + 2 });
  });

  it('defaults to the project\'s active model (its last run\'s) and skips reviewed images, counting them', () => {
    const zoo = modelCards().zoo;
    const first = runLoupe(['prelabel', folder, '--model', zoo, '--threshold', '0.5']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('reviewed images skipped: 0\n');
    const store = openProject(folder);
    store.review.markReviewed(store.images.getByPath('img-00.png')!.id, { threshold: 0.5 });
    store.close();
    const again = runLoupe(['prelabel', folder, '--only-new']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^model loupe-shapes-zoo \(onnx-zoo-maskrcnn\)/m);
    expect(again.stdout).toContain(': 0 of 0 images pre-labeled, 0 failed\nreviewed images skipped: 1\n');
  });

  it('refuses a threshold outside 0 to 1 and an unknown provider as usage errors', () => {
    expect(runLoupe(['prelabel', folder, '--threshold', '2'])).toMatchObject({ status: 1, stderr: expect.stringContaining('--threshold must be a number from 0 to 1') });
    expect(runLoupe(['prelabel', folder, '--provider', 'tpu'])).toMatchObject({
      status: 1,
      stderr: expect.stringContaining('--provider must be one of auto, cpu, cuda, dml, coreml'),
    });
  });

  it('fails clearly when a forced provider cannot start', () => {
    const cuda = runLoupe(['prelabel', folder, '--model', cardPath, '--provider', 'cuda']);
    expect(cuda.status).toBe(2);
    // A folder never scanned is scanned first; then the model load fails on the provider.
    expect(cuda.stderr.split('\n')[0]).toMatch(new RegExp(`^scanned .*: ${IMAGES + 2} images \\(2 unreadable\\)$`));
    expect(cuda.stderr).toMatch(/^loupe: .*\.json: CUDA provider \('cuda'\) could not start: .*supported on linux: auto, cuda, cpu/m);
  });

  it('says when a threshold is below the cut the model applies inside its graph', async () => {
    const card = JSON.parse(readFileSync(cardPath, 'utf8')) as { graph_score_threshold: number; name: string };
    const below = card.graph_score_threshold / 2;
    const run = runLoupe(['prelabel', folder, '--model', cardPath, '--threshold', String(below)]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain(`note: ${card.name} drops detections below ${card.graph_score_threshold} inside its graph; --threshold ${below} acts as ${card.graph_score_threshold}`);
    const above = runLoupe(['prelabel', folder, '--model', cardPath, '--threshold', String(card.graph_score_threshold)]);
    expect(above.stderr).not.toContain('note:');
  });
});
