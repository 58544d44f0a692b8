// Pre-label runs on the open project, one at a time, whose inference workers are hosted by whatever `workerPort`
// makes (an Electron utilityProcess in the desktop app, a child process under Node). A run another process holds on
// the project (a `loupe prelabel` in a terminal) is seen through the project's run lock.
import type { EventName, EventPayload, Res, RunProgress } from '../../app/ipc/contract.js';
import { ConflictError, NotFoundError, type ImageId, type ModelId, type RunId } from '../../app/model/index.js';
import type { WorkerPort } from '../inference/client.js';
import type { ProviderChoice } from '../inference/providers.js';
import { PrelabelJob, type JobSummary } from '../jobs/prelabel-job.js';
import { RunLockedError } from '../store/index.js';
import type { ModelService } from './models.js';
import type { ProjectService } from './project.js';

export interface PrelabelRequest {
  /** The model; the project's active model when absent. */
  readonly modelId?: ModelId | undefined;
  readonly imageIds?: readonly ImageId[] | undefined;
  readonly threshold?: number | undefined;
  readonly provider?: ProviderChoice | undefined;
}

export interface PrelabelService {
  /** Starts a run of the images without a result for the model; a ConflictError while one is live (here or elsewhere). */
  start(request: PrelabelRequest): Promise<RunProgress>;
  /** The project's live run, whichever process runs it; null when none. */
  active(): Res<'prelabel.active'>['run'];
  pause(runId: RunId): void;
  resume(runId: RunId): void;
  cancel(runId: RunId): void;
  /** Whether a run of this process is going (running or paused). */
  busy(): boolean;
  /** Ends this process's run after the images in flight (their results are written). */
  stop(): Promise<void>;
}

export interface PrelabelServiceOptions {
  readonly workerPort?: () => WorkerPort;
  readonly emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
  /** Every progress change of a run (the taskbar progress follows it). */
  readonly onProgress?: (progress: RunProgress) => void;
  /** A run ended: done, cancelled or failed (the end-of-run notification). */
  readonly onFinished?: (summary: JobSummary) => void;
  readonly log?: (message: string) => void;
}

export function createPrelabelService(options: PrelabelServiceOptions, project: ProjectService, models: ModelService): PrelabelService {
  const log = options.log ?? (() => {});
  let run: { job: PrelabelJob; finished: Promise<unknown> } | null = null;

  const activeJob = (runId: RunId): PrelabelJob => {
    if (!run || run.job.runId !== runId) throw new NotFoundError(`run ${runId} is not in progress`);
    return run.job;
  };

  const progressed = (progress: RunProgress) => {
    options.emit('prelabel.progress', progress);
    options.onProgress?.(progress);
  };

  return {
    async start(request) {
      const store = project.require();
      if (run) throw new ConflictError(`run ${run.job.runId} is still going; cancel it first`);
      const live = store.runLock.current();
      if (live) throw new RunLockedError(live);
      const modelId = request.modelId ?? (await models.activeModelId(store));
      const job = await PrelabelJob.create({
        store,
        cardPath: await models.cardFor(store, modelId),
        scope: 'pending',
        ...(request.imageIds !== undefined && { imageIds: request.imageIds }),
        ...(request.threshold !== undefined && { threshold: request.threshold }),
        ...(request.provider !== undefined && { provider: request.provider }),
        ...(options.workerPort !== undefined && { workerPort: options.workerPort }),
      });
      job.on((event) => {
        if (event.type === 'progress') progressed(event.progress);
        else if (event.type === 'batch-written') options.emit('images.changed', { ids: event.imageIds });
      });
      const finished = job.run().then(
        (summary) => {
          progressed({ ...job.progress(), replaced: summary.replaced });
          options.onFinished?.(summary);
        },
        (error: unknown) => log(`pre-label run ${job.runId} failed: ${(error as Error).stack ?? String(error)}`),
      );
      run = { job, finished: finished.finally(() => (run = null)) };
      return job.progress();
    },
    active() {
      const live = project.require().runLock.current();
      return live && { ...live };
    },
    pause: (runId) => activeJob(runId).pause(),
    resume: (runId) => activeJob(runId).resume(),
    cancel: (runId) => activeJob(runId).cancel(),
    busy: () => run !== null,
    async stop() {
      if (!run) return;
      run.job.cancel();
      await run.finished;
    },
  };
}
