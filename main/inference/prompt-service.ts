// Box prompts for the open project, behind the contract's prompt.* channels: which model answers (the one asked
// for, else the project's active model) and whether it has split graphs, and one long-lived prompt worker that
// keeps the feature maps of the images last opened. The worker belongs to one project and one split model: another
// project or model starts a new one, and close() (the project closing) stops it.
import path from 'node:path';
import type { ParsedReq, Res } from '../../app/ipc/contract.js';
import type { Bbox, CategoryId, ImageId, ModelId } from '../../app/model/index.js';
import { activeModelCard } from '../jobs/active-model.js';
import type { ProjectStore, StoredModel } from '../store/index.js';
import type { WorkerPort } from './client.js';
import { hashFile } from '../fs/probe.js';
import { readModelCard } from './model.js';
import { PromptClient, promptProcessPort } from './prompt-client.js';
import type { ProviderChoice } from './providers.js';
import { findSplitCard } from './split-model.js';

/** Box prompts cannot run with this model (no split graphs); the message says why. */
export class PromptUnavailableError extends Error {
  override readonly name = 'PromptUnavailableError';
}

export interface PromptServiceOptions {
  /** Folders searched for split cards: the project's model folders. */
  readonly modelDirs: (store: ProjectStore) => readonly string[];
  /** Hosts the worker (an Electron utilityProcess); a child process at normal priority by default. */
  readonly workerPort?: () => WorkerPort;
  /** Bytes of feature maps the worker keeps (LOUPE_PROMPT_CACHE_MB); prompt-engine's default otherwise. */
  readonly cacheBytes?: number;
  readonly provider?: ProviderChoice;
  readonly log?: (message: string) => void;
}

export interface PromptService {
  status(store: ProjectStore, modelId?: ModelId): Promise<Res<'prompt.status'>>;
  prepare(store: ProjectStore, request: ParsedReq<'prompt.prepare'>): Promise<Res<'prompt.prepare'>>;
  segment(store: ProjectStore, request: ParsedReq<'prompt.segment'>): Promise<Res<'prompt.segment'>>;
  /** Stops the worker (the project is closing or another opens); the next request starts one again. */
  close(): Promise<void>;
}

/** The feature cache's size from the environment (LOUPE_PROMPT_CACHE_MB), when set. */
export function cacheBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.LOUPE_PROMPT_CACHE_MB;
  if (text === undefined || text.trim() === '') return undefined;
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`LOUPE_PROMPT_CACHE_MB must be a number of megabytes, got '${text}'`);
  return Math.round(mb * 1024 * 1024);
}

/** Which model answers, and its split card or why it has none. */
type Resolved = { model: StoredModel; cardPath: string } | { model: StoredModel | null; cardPath: null; reason: string };

export function createPromptService(options: PromptServiceOptions): PromptService {
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
    const model = modelId === undefined ? await activeModel(store) : store.models.get(modelId);
    if (!model) throw new PromptUnavailableError(`model ${modelId} does not exist`);
    const found = await findSplitCard(model, options.modelDirs(store));
    return found.cardPath === null ? { model, cardPath: null, reason: found.reason } : { model, cardPath: found.cardPath };
  }

  async function usable(store: ProjectStore, modelId: ModelId | undefined): Promise<Extract<Resolved, { cardPath: string }>> {
    const found = await resolve(store, modelId);
    if (found.cardPath === null) throw new PromptUnavailableError(found.reason);
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

  function imageFile(store: ProjectStore, imageId: ImageId): { file: string; key: string } {
    const image = store.images.get(imageId);
    if (!image) throw new Error(`image ${imageId} does not exist`);
    // The key changes with the file's content, so a rescanned, changed file gets new maps.
    return { file: path.join(store.folder, image.path), key: `${store.folder}\0${image.id}\0${image.hash}` };
  }

  return {
    async status(store, modelId) {
      try {
        const found = await resolve(store, modelId, true);
        return found.cardPath === null
          ? { available: false, reason: found.reason, modelId: found.model?.id ?? null, split: null }
          : { available: true, reason: null, modelId: found.model.id, split: path.basename(found.cardPath, '.json') };
      } catch (error) {
        return { available: false, reason: (error as Error).message, modelId: modelId ?? null, split: null };
      }
    },

    async prepare(store, { imageId, modelId }) {
      const { cardPath } = await usable(store, modelId);
      const { file, key } = imageFile(store, imageId);
      const prepared = await (await clientFor(store, cardPath)).prepare(key, file);
      const { entries, bytes, maxBytes } = prepared.cache;
      return { cached: prepared.cached, featureMs: prepared.featureMs, cache: { entries, bytes, maxBytes } };
    },

    async segment(store, { imageId, boxes, modelId }) {
      const { model, cardPath } = await usable(store, modelId);
      const { file, key } = imageFile(store, imageId);
      const segmented = await (await clientFor(store, cardPath)).segment(key, file, boxes as readonly Bbox[]);
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

/** The project's active model (its last run's, else the shipped default), registered so annotations can name it. */
async function activeModel(store: ProjectStore): Promise<StoredModel> {
  const { card, onnxPath } = await readModelCard(activeModelCard(store).cardPath);
  const sha256 = card.sha256 ?? (await hashFile(onnxPath));
  return store.models.getBySha256(sha256) ??
    store.models.register({ name: card.name, format: card.format, labels: card.labels, card, path: onnxPath, sha256 });
}

/** Probabilities a float32 softmax may put a hair outside 0..1. */
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

