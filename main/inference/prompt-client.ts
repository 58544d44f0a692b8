// The caller's side of a box-prompt worker: an inference worker (worker.ts) that loads a split model instead of a
// full one and keeps image feature maps between requests. Long-lived: one per open project and model, so the
// maps outlive any one request; disposed with the project.
import type { Bbox } from '../../app/model/types.js';
import { InferenceError, processWorkerPort, workerEntryPath, workerProcessEnv, type WorkerPort } from './client.js';
import { ImageFailure } from './decode.js';
import { INTERACTIVE_WORKER, type PreparedFeatures, type PromptLoadSettings, type PromptModelInfo, type Segmented } from './prompt-engine.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

/** The environment of a box-prompt worker's process: the inference worker's, at normal priority. */
export function promptWorkerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...workerProcessEnv(base), [INTERACTIVE_WORKER]: '1' };
}

/** The feature cache's size from the environment (LOUPE_PROMPT_CACHE_MB), when set. */
export function cacheBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.LOUPE_PROMPT_CACHE_MB;
  if (text === undefined || text.trim() === '') return undefined;
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`LOUPE_PROMPT_CACHE_MB must be a number of megabytes, got '${text}'`);
  return Math.round(mb * 1024 * 1024);
}

/** A box-prompt worker in a child process of its own (the default under Node). */
export function promptProcessPort(entry = workerEntryPath()): WorkerPort {
  return processWorkerPort(entry, promptWorkerEnv());
}

type Pending = { resolve: (response: WorkerResponse) => void; reject: (error: Error) => void };
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class PromptClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private disposed = false;
  private loaded: PromptModelInfo | null = null;

  private constructor(private readonly port: WorkerPort) {}

  /** Starts a worker and loads the split model; rejects with the worker's message when it cannot load. */
  static async start(settings: PromptLoadSettings, port: WorkerPort = promptProcessPort()): Promise<PromptClient> {
    const client = new PromptClient(port);
    port.onMessage((message) => client.receive(message));
    port.onExit((error) => client.fail(error));
    try {
      const response = await client.request({ type: 'prompt-load', settings });
      if (response.type !== 'prompt-loaded') throw new Error(`unexpected reply to prompt-load: ${response.type}`);
      client.loaded = response.info;
      return client;
    } catch (error) {
      await client.dispose();
      throw error;
    }
  }

  get model(): PromptModelInfo {
    if (!this.loaded) throw new Error('no split model is loaded');
    return this.loaded;
  }

  /** True once the worker has gone; every request then fails with WorkerExitError. */
  get exited(): boolean {
    return this.dead !== null;
  }

  /** Computes an image's feature maps unless cached; `key` must change when the file's content does. */
  async prepare(key: string, file: string): Promise<PreparedFeatures> {
    const response = await this.request({ type: 'prompt-prepare', key, file });
    if (response.type === 'prompt-prepared') return response.prepared;
    throw unexpected(response, 'prompt-prepare');
  }

  /** Segments each box ([x, y, w, h] in image pixels); ImageFailure when the file cannot be decoded. */
  async segment(key: string, file: string, boxes: readonly Bbox[]): Promise<Segmented> {
    const response = await this.request({ type: 'prompt-segment', key, file, boxes: [...boxes] });
    if (response.type === 'prompt-segmented') return response.segmented;
    throw unexpected(response, 'prompt-segment');
  }

  /** Releases the sessions and the cached maps and stops the worker. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.dead) {
      try {
        await this.request({ type: 'dispose' }, true);
      } catch {
        // The worker is going away either way.
      }
    }
    await this.port.terminate();
  }

  private request(message: Request, allowDisposed = false): Promise<WorkerResponse> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.disposed && !allowDisposed) return Promise.reject(new Error('prompt worker is disposed'));
    const id = this.nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ ...message, id } as WorkerRequest);
    });
  }

  private receive(message: WorkerResponse): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.type === 'error') pending.reject(new InferenceError(message.name, message.message));
    else pending.resolve(message);
  }

  private fail(error: Error): void {
    if (this.disposed && this.pending.size === 0) return;
    this.dead = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

function unexpected(response: WorkerResponse, request: string): Error {
  if (response.type === 'image-failed') return new ImageFailure(response.kind, response.message);
  return new Error(`unexpected reply to ${request}: ${response.type}`);
}

