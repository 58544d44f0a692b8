// What the desktop app's handlers run on: one open project (store + scan), and pre-label runs whose
// worker is hosted by whatever `workerPort` makes (an Electron utilityProcess in main.ts). Nothing
// here imports electron, so the same services can back the bridge.
import path from 'node:path';
import type { EventName, EventPayload, ParsedReq, RunProgress } from '../../app/ipc/contract.js';
import type { RunId } from '../../app/model/index.js';
import { scanFolder } from '../fs/index.js';
import type { WorkerPort } from '../inference/client.js';
import { HandlerError } from '../ipc/handlers.js';
import type { PrelabelService, ProjectServices } from '../ipc/project-handlers.js';
import { PrelabelJob, type JobSummary } from '../jobs/prelabel-job.js';
import { listModels, type ModelFolder } from '../models/manager.js';
import { openProject, type ProjectStore } from '../store/index.js';

export interface DesktopServicesOptions {
  /** Model folders searched for cards, the shipped one first (its first model is the default). */
  readonly modelFolders: (store: ProjectStore) => readonly ModelFolder[];
  readonly workerPort?: () => WorkerPort;
  readonly emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void;
  /** Every progress change of a run (the taskbar progress follows it). */
  readonly onProgress?: (progress: RunProgress) => void;
  /** A run ended: done, cancelled or failed (the end-of-run notification). */
  readonly onFinished?: (summary: JobSummary) => void;
  readonly log?: (message: string) => void;
}

export interface DesktopServices extends ProjectServices {
  readonly prelabel: PrelabelService;
  /** Whether a run is going (running or paused). */
  busy(): boolean;
  /** Ends the current run after the images in flight (their results are written) and closes the project. */
  close(): Promise<void>;
}

export function createDesktopServices(options: DesktopServicesOptions): DesktopServices {
  const log = options.log ?? (() => {});
  let store: ProjectStore | null = null;
  let run: { job: PrelabelJob; finished: Promise<unknown> } | null = null;

  const activeJob = (runId: RunId): PrelabelJob => {
    if (!run || run.job.runId !== runId) throw new HandlerError('not-found', `run ${runId} is not in progress`);
    return run.job;
  };

  async function stopRun(): Promise<void> {
    if (!run) return;
    run.job.cancel();
    await run.finished;
  }

  async function cardPathFor(open: ProjectStore, modelId: ParsedReq<'prelabel.start'>['modelId']): Promise<string> {
    const { models } = await listModels(options.modelFolders(open));
    if (modelId === undefined) {
      const first = models[0];
      if (!first) throw new HandlerError('not-found', 'no model is installed; import one first');
      return first.cardPath;
    }
    const stored = open.models.get(modelId);
    if (!stored) throw new HandlerError('not-found', `model ${modelId} does not exist`);
    const listed = models.find((entry) => path.resolve(entry.onnxPath) === path.resolve(stored.path));
    return listed?.cardPath ?? stored.path.replace(/\.onnx$/i, '.json');
  }

  const prelabel: PrelabelService = {
    async start(open, request) {
      if (run) throw new HandlerError('conflict', `run ${run.job.runId} is still going; cancel it first`);
      const job = await PrelabelJob.create({
        store: open,
        cardPath: await cardPathFor(open, request.modelId),
        scope: 'pending',
        ...(request.imageIds !== undefined && { imageIds: request.imageIds }),
        ...(request.threshold !== undefined && { threshold: request.threshold }),
        ...(request.provider !== undefined && { provider: request.provider }),
        ...(options.workerPort !== undefined && { workerPort: options.workerPort }),
      });
      job.on((event) => {
        if (event.type === 'progress') {
          options.emit('prelabel.progress', event.progress);
          options.onProgress?.(event.progress);
        } else if (event.type === 'batch-written') {
          options.emit('images.changed', { ids: event.imageIds });
        }
      });
      const finished = job.run().then(
        (summary) => {
          const progress = job.progress();
          options.emit('prelabel.progress', progress);
          options.onProgress?.(progress);
          options.onFinished?.(summary);
        },
        (error: unknown) => log(`pre-label run ${job.runId} failed: ${(error as Error).stack ?? String(error)}`),
      );
      run = { job, finished: finished.finally(() => (run = null)) };
      return job.progress();
    },
    pause: (runId) => activeJob(runId).pause(),
    resume: (runId) => activeJob(runId).resume(),
    cancel: (runId) => activeJob(runId).cancel(),
  };

  return {
    current: () => store,
    async open(folder) {
      await stopRun();
      store?.close();
      store = null;
      const opened = openProject(folder);
      try {
        await scanFolder(opened);
      } catch (error) {
        opened.close();
        throw error;
      }
      store = opened;
      return opened;
    },
    prelabel,
    busy: () => run !== null,
    async close() {
      await stopRun();
      store?.close();
      store = null;
    },
  };
}
