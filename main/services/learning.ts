// The learning loop behind the app (learning.* channels): the model table, activating a model, an image's
// comparison, and one learning job at a time (train a new version, evaluate models, compare a model with what was
// reviewed), its progress as 'learning.progress' events. A job opens the project's database on a connection of its
// own, so it finishes (or stops at a checkpoint) whatever the window does meanwhile, another project opened included;
// training also holds the project's training run in the database, so a `loupe train` in a terminal and the app never
// train one project at once (a TrainingLockedError, a conflict).
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EventPayload, LearningJob, ModelVersionRow, ParsedReq, Res } from '../../app/ipc/contract.js';
import { ConflictError, NotFoundError, type ImageId, type ModelId } from '../../app/model/index.js';
import { FileError } from '../fs/fileError.js';
import type { WorkerPort } from '../inference/client.js';
import { DEFAULT_MODEL_NAME, activeModelCard } from '../jobs/active-model.js';
import { compareWithReviewed, comparisonReply } from '../learning/comparison.js';
import { evaluationRecord, summarise } from '../learning/evaluation.js';
import { PythonError } from '../learning/python.js';
import { learningRecords } from '../learning/records.js';
import { predict, reviewedImages, score, truthOf, type Split } from '../learning/scoring.js';
import { TrainingJob, type TrainProgress } from '../learning/training.js';
import { chosenModel, storedPath, versionOf } from '../learning/versions.js';
import { openProject, type ProjectStore } from '../store/index.js';
import type { ProjectService } from './project.js';

export interface LearningServiceOptions {
  readonly emit: (event: 'learning.progress', payload: EventPayload<'learning.progress'>) => void;
  /** Hosts the inference workers (an Electron utilityProcess); a child process by default. */
  readonly workerPort?: () => WorkerPort;
  readonly log?: (message: string) => void;
}

export interface LearningService {
  /** The model table of the open project, and the learning job running (or the last one, until another starts). */
  models(): Res<'learning.models'>;
  /** Makes a registered model the open project's active one (pre-labeling's default), recording why. */
  activate(modelId: ModelId): void;
  /**
   * Starts training a new version; a ConflictError while another learning job runs here or a training run elsewhere
   * holds the project, a failure saying why when Python or the training data cannot be had.
   */
  train(request: ParsedReq<'learning.train'>): Promise<LearningJob>;
  /** Starts scoring models on the reviewed images; a ConflictError while another learning job runs. */
  evaluate(request: ParsedReq<'learning.evaluate'>): LearningJob;
  /** Starts running a model (default the active one) on the reviewed images into the comparison set. */
  compare(request: ParsedReq<'learning.compare'>): LearningJob;
  /** Stops the learning job (training at its next checkpoint); a NotFoundError when none runs. */
  cancel(): void;
  /** One image's comparison with the comparison set's model; null when it has none. */
  comparison(imageId: ImageId): Res<'learning.comparison'>;
  /** Stops the job in progress and waits for it to end (training writes its checkpoint). */
  close(): Promise<void>;
}

/** The card beside a registered model's .onnx. */
export function cardOf(store: ProjectStore, modelId: ModelId): string {
  const model = store.models.get(modelId);
  if (!model) throw new NotFoundError(`model ${modelId} does not exist`);
  const card = model.path.replace(/\.onnx$/i, '.json');
  if (!existsSync(card)) throw new NotFoundError(`the card of ${model.name} is no longer at ${card}`);
  return card;
}

/** The active model's id: the one chosen last, else the registered shipped default. */
export function activeModelId(store: ProjectStore): ModelId | null {
  const chosen = chosenModel(store);
  if (chosen) return chosen.modelId;
  const card = activeModelCard(store).cardPath;
  return store.models.list().find((m) => path.resolve(m.path) === path.resolve(card.replace(/\.json$/i, '.onnx')))?.id ??
    store.models.list().find((m) => m.name === DEFAULT_MODEL_NAME)?.id ?? null;
}

/** The model table: registered models (other layouts of the same weights folded into their mask model), by family and version. */
export function modelTable(store: ProjectStore): ModelVersionRow[] {
  const records = learningRecords(store);
  const versions = new Map(records.versions().map((v) => [v.modelId, v]));
  const models = store.models.list();
  const names = new Set(models.map((m) => m.name));
  const active = activeModelId(store);
  const evaluations = records.evaluations().filter((e) => e.split === 'heldout');
  const rows = models
    .filter((m) => !(/-(boxes|zoo)$/.test(m.name) && names.has(m.name.replace(/-(boxes|zoo)$/, ''))))
    .map((m): ModelVersionRow => {
      const version = versions.get(m.id);
      const named = versionOf(m.name);
      const evaluation = evaluations.find((e) => e.modelId === m.id);
      const thresholds = m.card.thresholds as { score?: unknown } | undefined;
      return {
        modelId: m.id,
        name: m.name,
        family: version?.family ?? named.family,
        version: version?.version ?? named.version,
        format: m.format,
        threshold: typeof thresholds?.score === 'number' ? thresholds.score : 0.5,
        parent: version?.parentModelId ? (store.models.get(version.parentModelId)?.name ?? null) : null,
        createdAt: version?.createdAt ?? null,
        active: m.id === active,
        evaluation: evaluation ? summarise(evaluation) : null,
      };
    });
  return rows.sort((a, b) => a.family.localeCompare(b.family) || a.version - b.version || a.name.localeCompare(b.name));
}

interface RunningJob {
  state: LearningJob;
  cancel(): void;
  finished: Promise<void>;
}

export function createLearningService(options: LearningServiceOptions, project: ProjectService): LearningService {
  const log = options.log ?? (() => {});
  let current: RunningJob | null = null;
  let last: LearningJob | null = null;

  const publish = (job: RunningJob, change: Partial<LearningJob>) => {
    job.state = { ...job.state, ...change };
    if (job === current || job.state.state !== 'running') last = job.state;
    options.emit('learning.progress', job.state);
  };

  const blank = (kind: LearningJob['kind'], name: string, message: string): LearningJob => ({
    kind, state: 'running', name, stage: null, iteration: null, iterations: null, loss: null, imagesPerSecond: null, eta: null,
    done: null, total: null, message,
  });

  /** Starts background work as the learning job, refusing while another runs; its own connection to the project. */
  function startJob(
    own: ProjectStore,
    initial: LearningJob,
    work: (own: ProjectStore, job: RunningJob) => Promise<string>,
    cancel: (job: RunningJob) => void,
  ): LearningJob {
    if (current) {
      own.close();
      throw new ConflictError(`a ${current.state.kind} job (${current.state.name}) is still running; cancel it first`);
    }
    const job: RunningJob = { state: initial, cancel: () => cancel(job), finished: Promise.resolve() };
    current = job;
    job.finished = work(own, job)
      .then((message) => publish(job, { state: job.state.state === 'stopping' ? 'interrupted' : 'completed', message }))
      .catch((error: unknown) => {
        log(`learning job ${job.state.kind} failed: ${(error as Error).stack ?? String(error)}`);
        publish(job, { state: job.state.state === 'stopping' ? 'interrupted' : 'failed', message: (error as Error).message });
      })
      .finally(() => {
        own.close();
        if (current === job) current = null;
      });
    options.emit('learning.progress', job.state);
    return job.state;
  }

  const workerOptions = options.workerPort ? { workerPort: options.workerPort } : {};

  /** A connection of the job's own to the open project, once no other job runs. */
  function connect(store: ProjectStore): ProjectStore {
    if (current) throw new ConflictError(`a ${current.state.kind} job (${current.state.name}) is still running; cancel it first`);
    return openProject(store.folder, { dbPath: store.dbPath });
  }

  return {
    models: () => ({ models: modelTable(project.require()), job: current?.state ?? last }),

    activate(modelId) {
      const store = project.require();
      const card = cardOf(store, modelId);
      learningRecords(store).activate(modelId, storedPath(store, card), 'set active by a person in the model table');
    },

    comparison(imageId) {
      const store = project.require();
      if (!store.images.get(imageId)) throw new NotFoundError(`image ${imageId} does not exist`);
      return comparisonReply(store, imageId);
    },

    async train(request) {
      const own = connect(project.require());
      let training: TrainingJob;
      try {
        training = await TrainingJob.create({
          store: own,
          ...(request.fromModelId !== undefined ? { from: cardOf(own, request.fromModelId) } : {}),
          ...(request.name !== undefined ? { name: request.name } : {}),
          ...(request.iterations !== undefined ? { iterations: request.iterations } : {}),
          ...(request.minutes !== undefined ? { minutes: request.minutes } : {}),
          ...(request.device !== undefined ? { device: request.device } : {}),
          ...(request.activate !== undefined ? { activate: request.activate } : {}),
          ...workerOptions,
        });
      } catch (error) {
        own.close();
        // A Python that cannot train, or training data that cannot be written, is a failure said in one line.
        if (error instanceof PythonError) throw new Error(error.message, { cause: error });
        if (error instanceof FileError) throw new Error(`${error.file}: ${error.reason}`, { cause: error });
        throw error;
      }
      return startJob(own, blank('train', training.run.name, training.resumed ? `continuing ${training.run.name}` : `training ${training.run.name}`),
        async (_own, job) => {
          const listener = training.on((event) => {
            if (event.type === 'note') publish(job, { message: event.message });
            else publish(job, fromTrainProgress(event.progress, job.state.state));
          });
          try {
            const summary = await training.execute();
            if (summary.state === 'failed') throw new Error(summary.error ?? 'training failed');
            if (summary.state === 'interrupted') {
              job.state = { ...job.state, state: 'stopping' };
              return `${summary.name} stopped at iteration ${job.state.iteration ?? 0}; train again with the same settings to continue`;
            }
            return summary.decision;
          } finally {
            listener.dispose();
          }
        },
        (job) => {
          publish(job, { state: 'stopping', message: 'stopping at the next checkpoint' });
          training.cancel();
        });
    },

    evaluate(request) {
      let stopped = false;
      return startJob(connect(project.require()), blank('evaluate', `${request.modelIds.length} model${request.modelIds.length === 1 ? '' : 's'}`, 'evaluating'),
        async (own, job) => {
          const images = reviewedImages(own, request.split as Split);
          if (images.length === 0) throw new Error(`no reviewed images in the ${request.split === 'all' ? 'project' : 'held-out split'} to score on`);
          const truth = truthOf(own, images);
          const lines: string[] = [];
          for (const [i, modelId] of request.modelIds.entries()) {
            const card = cardOf(own, modelId);
            const predictions = await predict(own, card, images, {
              ...workerOptions,
              stopped: () => stopped,
              onImage: (done, total) => publish(job, { done: i * total + done, total: total * request.modelIds.length }),
            });
            if (stopped) throw new Error('evaluation stopped');
            const scores = score(predictions.model, images, truth, predictions.byImage, own.categories.list());
            const record = await evaluationRecord(own, predictions.model, card, request.split as Split, scores);
            lines.push(`${record.name} mask AP ${format(scores.mask?.AP)} box AP ${format(scores.box.AP)}`);
          }
          return `${lines.join('; ')} on ${images.length} ${request.split === 'all' ? 'reviewed' : 'held-out'} images`;
        },
        (job) => {
          stopped = true;
          publish(job, { state: 'stopping', message: 'stopping after the images in flight' });
        });
    },

    compare(request) {
      let stopped = false;
      const store = project.require();
      const modelId = request.modelId ?? activeModelId(store);
      if (modelId === null) throw new NotFoundError('no model to compare: the project has no active model yet');
      const card = cardOf(store, modelId);
      return startJob(connect(store), blank('compare', store.models.get(modelId)!.name, 'comparing with the reviewed images'),
        async (own, job) => {
          const result = await compareWithReviewed(own, card, {
            ...workerOptions,
            stopped: () => stopped,
            onImage: (done, total) => publish(job, { done, total }),
          });
          const disagree = result.images.filter((i) => i.counts.missed + i.counts.extra + i.counts.lowOverlap > 0).length;
          const sum = (key: 'missed' | 'extra' | 'lowOverlap') => result.images.reduce((n, i) => n + i.counts[key], 0);
          return `${result.modelName} on ${result.images.length} reviewed images: ${sum('missed')} missed, ${sum('extra')} extra, ` +
            `${sum('lowOverlap')} low-overlap; ${disagree} images disagree`;
        },
        (job) => {
          stopped = true;
          publish(job, { state: 'stopping', message: 'stopping after the images in flight' });
        });
    },

    cancel() {
      if (!current) throw new NotFoundError('no learning job is running');
      current.cancel();
    },

    async close() {
      const job = current;
      if (!job) return;
      job.cancel();
      await job.finished;
    },
  };
}

function fromTrainProgress(progress: TrainProgress, state: LearningJob['state']): Partial<LearningJob> {
  return {
    state: progress.state === 'stopping' ? 'stopping' : state,
    stage: progress.stage,
    iteration: progress.iteration,
    // A time budget ends the schedule: the iteration count is then no limit worth showing.
    iterations: progress.timeBudget ? null : progress.iterations,
    loss: progress.loss,
    imagesPerSecond: progress.imagesPerSecond,
    eta: progress.etaSeconds,
    done: progress.scored?.done ?? null,
    total: progress.scored?.total ?? null,
  };
}

const format = (value: number | null | undefined) => (value === null || value === undefined ? 'n/a' : value.toFixed(3));
