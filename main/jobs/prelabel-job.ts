// A bulk pre-label job: every image (or a selection, or only those without a result for the model) through the
// inference worker, results written in batched transactions, resumable after a crash, pausable and cancellable.
import path from 'node:path';
import type { RunProgress, RunState } from '../../app/ipc/contract.js';
import type { CategoryId, ImageId, ImageRecord, RunId } from '../../app/model/index.js';
import { oneLine } from '../fs/imageProblem.js';
import { hashFile } from '../fs/hash.js';
import type { WorkerPort } from '../inference/client.js';
import type { ImageFailureKind } from '../inference/decode.js';
import type { ImagePrediction } from '../inference/pipeline.js';
import { InferencePool, type PoolLayout } from '../inference/pool.js';
import type { LoadSettings, ModelInfo } from '../inference/protocol.js';
import type { ProviderChoice, ProviderReport } from '../inference/providers.js';
import { HEARTBEAT_MS, type ImageOutcome, type Prediction, type ProjectStore, type RunLock, type StoredModel } from '../store/index.js';

export type JobScope = 'all' | 'pending';

export interface PrelabelJobOptions {
  store: ProjectStore;
  /** The model card (.json) to pre-label with. */
  cardPath: string;
  provider?: ProviderChoice;
  /** Score threshold; the card's default when absent. */
  threshold?: number;
  /** 'all' re-runs every image; 'pending' only images without a successful result for this model. */
  scope?: JobScope;
  /** Limits the job to these images. */
  imageIds?: readonly ImageId[];
  /** Inference workers; by default one per core (up to four) on a CPU, one on an accelerator. */
  workers?: number;
  /** onnxruntime intra-op threads of each worker; by default the cores shared out between the workers. */
  intraOpThreads?: number;
  interOpThreads?: number;
  maxInputPixels?: number;
  /** Images handed to the workers at once (each decodes its next while the current one runs); 2 per worker + 1. */
  inFlight?: number;
  /** Results written per transaction, at most; a batch is also written once `batchMs` has passed. */
  batchSize?: number;
  batchMs?: number;
  /** Hosts each worker elsewhere (an Electron utilityProcess, a worker thread); a child process by default. */
  workerPort?: () => WorkerPort;
  /**
   * The project's run lock, taken by the caller before its own preparation (the CLI scans an unscanned folder under
   * it). Without one the job takes it, throwing RunLockedError when another run is live. The job releases it.
   */
  lock?: RunLock;
}

export interface JobSummary {
  runId: RunId;
  state: Exclude<RunState, 'running' | 'paused'>;
  /** Images this job set out to do (after resuming, only those left). */
  total: number;
  done: number;
  failed: number;
  /** Images left alone because a person marked them reviewed (before or during the run). */
  skippedReviewed: number;
  /** Pending predictions of other models replaced (an image holds one model's pending set). */
  replaced: number;
  instancesByClass: Record<string, number>;
  failures: { imageId: ImageId; path: string; kind: ImageFailureKind; message: string }[];
  wallSeconds: number;
  imagesPerSecond: number;
  provider: ProviderReport;
  /** Why the job stopped, when state is 'failed'. */
  error: string | null;
}

export type PrelabelEvent =
  | { type: 'progress'; progress: RunProgress }
  | { type: 'image-done'; imageId: ImageId; path: string; instances: number }
  | { type: 'image-failed'; imageId: ImageId; path: string; kind: ImageFailureKind; message: string }
  /** A batch of results is committed: these images' annotations and statuses changed. */
  | { type: 'batch-written'; imageIds: ImageId[] }
  /** After pause(), once the images in flight have finished and been written: the job is idle. */
  | { type: 'paused'; progress: RunProgress }
  | { type: 'finished'; summary: JobSummary };

const PAGE = 1000;

/** Present, not reviewed, and decodable: not in 'error', unless it is there because an earlier run failed on it. */
function eligibleImages(store: ProjectStore): ImageRecord[] {
  const images: ImageRecord[] = [];
  const retried = store.prelabel.failedImageIds();
  let after: string | null = null;
  do {
    const page = store.images.list({ after, limit: PAGE });
    for (const image of page.items) {
      if (!image.missing && image.status !== 'reviewed' && (image.status !== 'error' || retried.has(image.id))) images.push(image);
    }
    after = page.next;
  } while (after !== null);
  return images;
}

function reviewedCount(store: ProjectStore, imageIds: readonly ImageId[] | undefined): number {
  if (imageIds === undefined) return store.images.countByStatus().reviewed;
  return imageIds.filter((id) => store.images.get(id)?.status === 'reviewed').length;
}

export class PrelabelJob {
  private readonly listeners = new Set<(event: PrelabelEvent) => void>();
  private state: RunState = 'running';
  private resumeSignal: (() => void) | null = null;
  private doneCount = 0;
  private failedCount = 0;
  private readonly instancesByClass: Record<string, number> = {};
  private readonly failures: JobSummary['failures'] = [];
  private skippedReviewed: number;
  private replaced = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private pending: ImageOutcome[] = [];
  private lastFlush = performance.now();
  private activeMs = 0;
  private activeSince = performance.now();
  private ran = false;

  private constructor(
    private readonly options: PrelabelJobOptions,
    private readonly pool: InferencePool,
    readonly model: StoredModel,
    readonly runId: RunId,
    /** True when this job continues a run that was interrupted. */
    readonly resumed: boolean,
    private readonly queue: ImageRecord[],
    private readonly categoryOf: Map<number, CategoryId>,
    private readonly lock: RunLock,
    skippedReviewed: number,
  ) {
    this.skippedReviewed = skippedReviewed;
  }

  /**
   * Loads the model in a worker, registers it and its classes in the project, and works out what is left to do
   * (see plan). Subscribe with on(), then run().
   */
  static async create(options: PrelabelJobOptions): Promise<PrelabelJob> {
    const { store } = options;
    const lock = options.lock ?? store.runLock.acquire();
    let pool: InferencePool | null = null;
    try {
      const settings: LoadSettings = {
        cardPath: options.cardPath,
        provider: options.provider ?? 'auto',
        ...(options.threshold !== undefined ? { scoreThreshold: options.threshold } : {}),
        ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
        ...(options.interOpThreads ? { interOpThreads: options.interOpThreads } : {}),
        ...(options.maxInputPixels ? { maxInputPixels: options.maxInputPixels } : {}),
      };
      pool = await InferencePool.start(settings, {
        ...(options.workers !== undefined ? { workers: options.workers } : {}),
        ...(options.workerPort ? { workerPort: options.workerPort } : {}),
      });
      const info = pool.model;
      const sha256 = info.card.sha256 ?? (await hashFile(info.onnxPath));
      const started = pool;
      return store.transaction(() => {
        const model = store.models.register({
          name: info.card.name,
          format: info.card.format,
          labels: info.card.labels,
          card: info.card,
          path: info.onnxPath,
          sha256,
        });
        const categories = store.categories.ensure(info.card.labels.slice(1));
        const categoryOf = new Map(categories.map((category, i) => [i + 1, category.id] as const));
        const { runId, resumed, queue } = PrelabelJob.plan(options, model, info);
        lock.update({ runId, modelId: model.id, state: 'running', total: queue.length, done: 0, failed: 0 });
        return new PrelabelJob(options, started, model, runId, resumed, queue, categoryOf, lock, reviewedCount(store, options.imageIds));
      });
    } catch (error) {
      await pool?.dispose();
      lock.release();
      throw error;
    }
  }

  /**
   * The run to write into and the images left. The latest run of this model that did not complete (killed,
   * crashed, cancelled or failed) is continued when it had the same scope and threshold: its images that already
   * have a result from it are skipped. Older unfinished runs are closed as interrupted.
   */
  private static plan(options: PrelabelJobOptions, model: StoredModel, info: ModelInfo) {
    const { store } = options;
    const scope = options.scope ?? 'all';
    const params = { scope, threshold: info.thresholds.score, images: options.imageIds?.length ?? null, cardPath: path.resolve(options.cardPath) };
    const all = store.prelabel.list();
    const last = all.filter((run) => run.modelId === model.id).at(-1);
    const resume =
      last && last.status !== 'completed' && last.params.scope === params.scope && last.params.threshold === params.threshold
        ? last
        : undefined;
    // This job holds the run lock, so a run still marked running was cut short (a crash, a kill).
    for (const run of all) {
      if (run.status === 'running' && run !== resume) store.prelabel.finish(run.id, 'failed', 'interrupted');
    }

    let queue: ImageRecord[];
    if (scope === 'pending') {
      const ids = store.prelabel.pendingImageIds(model.id, options.imageIds);
      queue = ids.map((id) => store.images.get(id)).filter((image): image is ImageRecord => image !== undefined);
    } else {
      const wanted = options.imageIds ? new Set<number>(options.imageIds) : null;
      queue = eligibleImages(store).filter((image) => !wanted || wanted.has(image.id));
    }
    if (resume) {
      const finished = new Set<number>(store.prelabel.resultsForRun(resume.id).map((result) => result.imageId));
      queue = queue.filter((image) => !finished.has(image.id));
    }
    const runId = resume ? resume.id : store.prelabel.start(model.id, params).id;
    return { runId, resumed: resume !== undefined, queue };
  }

  get provider(): ProviderReport {
    return this.pool.model.provider;
  }

  /** Inference workers and the threads of each. */
  get layout(): PoolLayout {
    return this.pool.layout;
  }

  /** The loaded model's card, validated. */
  get card(): ModelInfo['card'] {
    return this.pool.model.card;
  }

  /** Images this job set out to do. */
  get total(): number {
    return this.queue.length;
  }

  on(listener: (event: PrelabelEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Stops handing out images; the ones in flight finish and are written. */
  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.activeMs += performance.now() - this.activeSince;
    this.lock.update({ state: 'paused' });
    this.emitProgress();
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.activeSince = performance.now();
    this.lock.update({ state: 'running' });
    this.resumeSignal?.();
    this.emitProgress();
  }

  /**
   * Ends the job after the images whose model runs are under way (one per worker): their results are written; images
   * handed to the workers but not yet running are dropped and stay to do, with the rest.
   */
  cancel(): void {
    if (this.state !== 'running' && this.state !== 'paused') return;
    if (this.state === 'running') this.activeMs += performance.now() - this.activeSince;
    this.state = 'cancelled';
    this.pool.cancelPending().catch(() => {
      // A worker that died is reported by the run itself.
    });
    this.resumeSignal?.();
  }

  /** The run's progress as the contract's `prelabel.progress` carries it. */
  progress(): RunProgress {
    const seconds = (this.activeMs + (this.state === 'running' ? performance.now() - this.activeSince : 0)) / 1000;
    const processed = this.doneCount + this.failedCount;
    const rate = seconds > 0 ? processed / seconds : 0;
    const left = this.total - processed;
    return {
      runId: this.runId,
      state: this.state,
      total: this.total,
      done: this.doneCount,
      failed: this.failedCount,
      rate,
      eta: rate > 0 ? left / rate : null,
      engine: { provider: this.provider.provider, fallback: this.provider.fallback, ...this.layout },
    };
  }

  /** Runs the job to its end (done, cancelled or failed) and disposes the worker. */
  async run(): Promise<JobSummary> {
    if (this.ran) throw new Error('a pre-label job runs once');
    this.ran = true;
    const started = performance.now();
    this.activeSince = started;
    const inFlightLimit = Math.max(1, this.options.inFlight ?? 2 * this.pool.layout.workers + 1);
    const inFlight = new Set<Promise<void>>();
    let error: Error | null = null;
    this.heartbeat = setInterval(() => this.lock.heartbeat(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.emitProgress();
    try {
      let next = 0;
      while (next < this.queue.length && this.state !== 'cancelled') {
        if (this.state === 'paused') {
          await Promise.all(inFlight);
          this.flush();
          if (this.state === 'paused') {
            this.emit({ type: 'paused', progress: this.progress() });
            await new Promise<void>((resolve) => (this.resumeSignal = resolve));
          }
          this.resumeSignal = null;
          continue;
        }
        while (inFlight.size < inFlightLimit && next < this.queue.length && this.state === 'running') {
          const task = this.process(this.queue[next++]!).finally(() => inFlight.delete(task));
          inFlight.add(task);
        }
        await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      this.flush();
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
      await Promise.allSettled(inFlight);
      try {
        this.flush();
      } catch {
        // The error that stopped the job is the one to report.
      }
    } finally {
      await this.pool.dispose();
    }
    if (this.state === 'running' || this.state === 'paused') this.activeMs += performance.now() - this.activeSince;
    const state = error ? 'failed' : this.state === 'cancelled' ? 'cancelled' : 'done';
    this.state = state;
    try {
      this.options.store.prelabel.finish(this.runId, state === 'done' ? 'completed' : state, error ? oneLine(error.message) : null);
    } finally {
      clearInterval(this.heartbeat);
      this.lock.release();
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const processed = this.doneCount + this.failedCount;
    const summary: JobSummary = {
      runId: this.runId,
      state,
      total: this.total,
      done: this.doneCount,
      failed: this.failedCount,
      skippedReviewed: this.skippedReviewed,
      replaced: this.replaced,
      instancesByClass: { ...this.instancesByClass },
      failures: [...this.failures],
      wallSeconds,
      imagesPerSecond: this.activeMs > 0 ? processed / (this.activeMs / 1000) : 0,
      provider: this.provider,
      error: error ? oneLine(error.message) : null,
    };
    this.emitProgress();
    this.emit({ type: 'finished', summary });
    return summary;
  }

  private async process(image: ImageRecord): Promise<void> {
    const file = path.join(this.options.store.folder, image.path);
    const started = performance.now();
    const outcome = await this.pool.predict(file);
    const durationMs = performance.now() - started;
    if (outcome.ok) {
      const mismatch = this.sizeMismatch(image, outcome.prediction);
      if (!mismatch) {
        this.succeeded(image, outcome.prediction, durationMs);
        return;
      }
      this.failed(image, 'decode', mismatch, durationMs);
      return;
    }
    if ('cancelled' in outcome) return; // cancelled before its run: it stays to do
    this.failed(image, outcome.kind, outcome.message, durationMs);
  }

  private sizeMismatch(image: ImageRecord, prediction: ImagePrediction): string | null {
    if (prediction.width === image.width && prediction.height === image.height) return null;
    return `image changed since the scan: was ${image.width} x ${image.height}, now ${prediction.width} x ${prediction.height}; rescan the folder`;
  }

  private succeeded(image: ImageRecord, prediction: ImagePrediction, durationMs: number): void {
    const predictions: Prediction[] = prediction.detections.map((detection) => ({
      categoryId: this.categoryOf.get(detection.labelIndex)!,
      bbox: detection.bbox,
      mask: detection.mask,
      score: Math.min(1, Math.max(0, detection.score)),
    }));
    for (const detection of prediction.detections) {
      this.instancesByClass[detection.label] = (this.instancesByClass[detection.label] ?? 0) + 1;
    }
    this.doneCount++;
    this.record({ imageId: image.id, durationMs, predictions });
    this.emit({ type: 'image-done', imageId: image.id, path: image.path, instances: predictions.length });
    this.emitProgress();
  }

  private failed(image: ImageRecord, kind: ImageFailureKind, reason: string, durationMs: number): void {
    // Recorded, listed by `loupe stats` and shown in the app as one line (a model's or a crash's text may hold several).
    const message = oneLine(reason);
    this.failedCount++;
    this.failures.push({ imageId: image.id, path: image.path, kind, message });
    this.record({ imageId: image.id, durationMs, error: message });
    this.emit({ type: 'image-failed', imageId: image.id, path: image.path, kind, message });
    this.emitProgress();
  }

  private record(outcome: ImageOutcome): void {
    this.pending.push(outcome);
    const batchSize = this.options.batchSize ?? 16;
    const batchMs = this.options.batchMs ?? 1000;
    if (this.pending.length >= batchSize || performance.now() - this.lastFlush >= batchMs) this.flush();
  }

  /** Writes the pending outcomes in one transaction. */
  private flush(): void {
    this.lastFlush = performance.now();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const { store } = this.options;
    const recorded = store.transaction(() => {
      const result = store.prelabel.recordOutcomes(this.runId, this.model.id, batch);
      this.lock.update({ done: this.doneCount, failed: this.failedCount });
      return result;
    });
    this.replaced += recorded.replaced;
    // Marked reviewed while its model ran: nothing was written, and it is not counted as pre-labeled.
    for (const imageId of recorded.skippedReviewed) {
      this.skippedReviewed++;
      const outcome = batch.find((candidate) => candidate.imageId === imageId)!;
      if ('predictions' in outcome) {
        this.doneCount--;
        for (const prediction of outcome.predictions) {
          const label = this.labelOf(prediction.categoryId);
          if (label !== undefined) this.instancesByClass[label]! -= 1;
        }
      } else {
        this.failedCount--;
        this.failures.splice(this.failures.findIndex((failure) => failure.imageId === imageId), 1);
      }
    }
    this.emit({ type: 'batch-written', imageIds: batch.map((outcome) => outcome.imageId) });
  }

  private labelOf(categoryId: CategoryId): string | undefined {
    for (const [index, id] of this.categoryOf) if (id === categoryId) return this.model.labels[index];
    return undefined;
  }

  private emitProgress(): void {
    this.emit({ type: 'progress', progress: this.progress() });
  }

  private emit(event: PrelabelEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
