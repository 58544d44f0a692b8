// Box prompts for the open project, behind the contract's prompt.* channels: which model answers (the one asked
// for, else the project's active model) and whether it has split graphs, and one long-lived prompt worker that
// keeps the feature maps of the images last opened. The worker belongs to one project and one split model: another
// project or model starts a new one, and close() (the project closing or another opening) stops it.
import path from 'node:path';
import type { ParsedReq, Res } from '../../app/ipc/contract.js';
import { ConflictError, NotFoundError, type Bbox, type CategoryId, type ImageId, type ImageRecord, type ModelId } from '../../app/model/index.js';
import type { WorkerPort } from '../inference/client.js';
import { ImageFailure } from '../inference/decode.js';
import { PromptClient, promptProcessPort } from '../inference/prompt-client.js';
import type { ProviderChoice } from '../inference/providers.js';
import { findSplitCard } from '../inference/split-model.js';
import type { ProjectStore, StoredModel } from '../store/index.js';
import type { ModelService } from './models.js';
import type { ProjectService } from './project.js';

export interface PromptService {
  /** Whether box prompts can run with the model (the active one when none is named), and why not. Never throws. */
  status(modelId?: ModelId): Promise<Res<'prompt.status'>>;
  /** Computes an image's feature maps in the worker (kept in its cache); a ConflictError when the model has no split graphs. */
  prepare(request: ParsedReq<'prompt.prepare'>): Promise<Res<'prompt.prepare'>>;
  /** Segments each box with the model's heads; nothing is saved. The model's classes become the project's. */
  segment(request: ParsedReq<'prompt.segment'>): Promise<Res<'prompt.segment'>>;
  /** Stops the worker (the project is closing or another opens); the next request starts one again. */
  close(): Promise<void>;
}

export interface PromptServiceOptions {
  /** Folders searched for split cards: the project's model folders. */
  readonly modelDirs: (store: ProjectStore) => readonly string[];
  /** Hosts the worker (an Electron utilityProcess); a child process at normal priority by default. */
  readonly workerPort?: () => WorkerPort;
  /** Bytes of feature maps the worker keeps (cacheBytesFromEnv); prompt-engine's default otherwise. */
  readonly cacheBytes?: number | undefined;
  readonly provider?: ProviderChoice;
  readonly log?: (message: string) => void;
}

/** Which model answers, and its split card or why it has none. */
type Resolved = { model: StoredModel; cardPath: string } | { model: StoredModel | null; cardPath: null; reason: string };

export function createPromptService(options: PromptServiceOptions, project: ProjectService, models: Pick<ModelService, 'activeModelId'>): PromptService {
  let worker: { store: ProjectStore; cardPath: string; client: Promise<PromptClient> } | null = null;
  /** Split lookups by model id ('active' when none was named), for the store they were made in. */
  let resolved: { store: ProjectStore; byModel: Map<string, Promise<Resolved>> } | null = null;

  async function stopWorker(): Promise<void> {
    const stopping = worker;
    worker = null;
    if (stopping) await stopping.client.then((client) => client.dispose(), () => undefined);
  }

  async function resolve(store: ProjectStore, modelId: ModelId | undefined, fresh = false): Promise<Resolved> {
    if (resolved?.store !== store) resolved = { store, byModel: new Map() };
    const key = modelId === undefined ? 'active' : String(modelId);
    let lookup = fresh ? undefined : resolved.byModel.get(key);
    if (!lookup) {
      lookup = lookUp(store, modelId);
      resolved.byModel.set(key, lookup);
      lookup.catch(() => resolved?.byModel.delete(key));
    }
    return lookup;
  }

  async function lookUp(store: ProjectStore, modelId: ModelId | undefined): Promise<Resolved> {
    const id = modelId ?? (await models.activeModelId(store));
    if (id === undefined) throw new ConflictError('no model is installed; import one first');
    const model = store.models.get(id);
    if (!model) throw new NotFoundError(`model ${id} does not exist`);
    const found = await findSplitCard(model, options.modelDirs(store));
    return found.cardPath === null ? { model, cardPath: null, reason: found.reason } : { model, cardPath: found.cardPath };
  }

  /** The split card to run; a ConflictError (the request's to change) when the model has none. */
  async function usable(store: ProjectStore, modelId: ModelId | undefined): Promise<Extract<Resolved, { cardPath: string }>> {
    const found = await resolve(store, modelId);
    if (found.cardPath === null) throw new ConflictError(found.reason);
    return found;
  }

  async function clientFor(store: ProjectStore, cardPath: string): Promise<PromptClient> {
    if (worker && (worker.store !== store || worker.cardPath !== cardPath)) await stopWorker();
    if (worker) {
      const client = await worker.client.catch(() => null);
      if (client && !client.exited) return client;
      await stopWorker();
    }
    const starting = PromptClient.start(
      { cardPath, provider: options.provider ?? 'auto', ...(options.cacheBytes !== undefined && { cacheBytes: options.cacheBytes }) },
      (options.workerPort ?? promptProcessPort)(),
    );
    worker = { store, cardPath, client: starting };
    starting.catch((error: unknown) => {
      options.log?.(`prompt worker for ${cardPath} could not start: ${(error as Error).message}`);
      if (worker?.client === starting) worker = null;
    });
    return starting;
  }

  function imageOf(store: ProjectStore, imageId: ImageId): ImageRecord {
    const image = store.images.get(imageId);
    if (!image) throw new NotFoundError(`image ${imageId} does not exist`);
    return image;
  }

  /** Runs `work` on the image's file; a file the worker cannot decode is named in the failure. */
  async function onImage<T>(store: ProjectStore, image: ImageRecord, work: (file: string, key: string) => Promise<T>): Promise<T> {
    // The key changes with the file's content, so a rescanned, changed file gets new maps.
    try {
      return await work(path.join(store.folder, image.path), `${store.folder}\0${image.id}\0${image.hash}`);
    } catch (error) {
      if (error instanceof ImageFailure) throw new Error(`${image.path}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  return {
    async status(modelId) {
      try {
        const found = await resolve(project.require(), modelId, true);
        return found.cardPath === null
          ? { available: false, reason: found.reason, modelId: found.model?.id ?? null, split: null }
          : { available: true, reason: null, modelId: found.model.id, split: path.basename(found.cardPath, '.json') };
      } catch (error) {
        return { available: false, reason: (error as Error).message, modelId: modelId ?? null, split: null };
      }
    },

    async prepare({ imageId, modelId }) {
      const store = project.require();
      const image = imageOf(store, imageId);
      const { cardPath } = await usable(store, modelId);
      const prepared = await onImage(store, image, async (file, key) => (await clientFor(store, cardPath)).prepare(key, file));
      const { entries, bytes, maxBytes } = prepared.cache;
      return { cached: prepared.cached, featureMs: prepared.featureMs, cache: { entries, bytes, maxBytes } };
    },

    async segment({ imageId, boxes, modelId }) {
      const store = project.require();
      const image = imageOf(store, imageId);
      const { model, cardPath } = await usable(store, modelId);
      const segmented = await onImage(store, image, async (file, key) => (await clientFor(store, cardPath)).segment(key, file, boxes as readonly Bbox[]));
      // The model's classes become the project's when it first answers, as a pre-label run makes them.
      const categoryOf = new Map(store.categories.ensure(model.labels.slice(1)).map((c, i) => [i + 1, c.id]));
      const category = (labelIndex: number): CategoryId => {
        const id = categoryOf.get(labelIndex);
        if (id === undefined) throw new Error(`the split model answered class ${labelIndex}, which ${model.name} does not have`);
        return id;
      };
      return {
        modelId: model.id,
        featureMs: segmented.featureMs,
        headsMs: segmented.headsMs,
        results: segmented.results.map((r) => ({
          box: r.box, categoryId: category(r.labelIndex), label: r.label, score: clamp01(r.score),
          classes: r.classes.map((c) => ({ categoryId: category(c.labelIndex), label: c.label, score: clamp01(c.score) })),
          refinedBox: r.refinedBox, mask: r.mask, bbox: r.bbox,
        })),
      };
    },

    async close() {
      resolved = null;
      await stopWorker();
    },
  };
}

/** Probabilities a float32 softmax may put a hair outside 0..1. */
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
