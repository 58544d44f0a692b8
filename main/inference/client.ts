// The caller's side of the inference worker: start it, load a model, predict images, dispose it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ImageFailureKind } from './decode.js';
import type { ImagePrediction } from './pipeline.js';
import type { LoadSettings, ModelInfo, WorkerRequest, WorkerResponse } from './protocol.js';

/** What the client needs from whatever hosts the worker (a worker_threads Worker, an Electron utilityProcess). */
export interface WorkerPort {
  postMessage(message: WorkerRequest): void;
  onMessage(listener: (message: WorkerResponse) => void): void;
  /** Called once if the worker dies; every pending request then fails with this error. */
  onExit(listener: (error: Error) => void): void;
  terminate(): Promise<void>;
}

/**
 * The compiled worker entry. From dist/ it sits beside this module; when this module runs from TypeScript source
 * (Vitest), the worker still runs the compiled file from `npm run build`, since a worker thread has no TS loader.
 */
export function workerEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = here.endsWith('.js')
    ? path.join(path.dirname(here), 'worker.js')
    : path.resolve(path.dirname(here), '..', '..', 'dist', 'main', 'inference', 'worker.js');
  if (!existsSync(entry)) throw new Error(`inference worker not found at ${entry}; run \`npm run build\` first`);
  return entry;
}

export function threadWorkerPort(entry = workerEntryPath()): WorkerPort {
  const worker = new Worker(entry);
  let exited = false;
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onExit: (listener) => {
      worker.on('error', (error) => listener(error));
      worker.on('exit', (code) => {
        exited = true;
        listener(new Error(`inference worker exited with code ${code}`));
      });
    },
    terminate: async () => {
      if (!exited) await worker.terminate();
    },
  };
}

/** The shape of Electron's UtilityProcess that the client uses (kept structural so main/inference needs no electron). */
export interface UtilityProcessLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/** Adapts `utilityProcess.fork(workerEntryPath())` for the client. */
export function utilityProcessPort(child: UtilityProcessLike): WorkerPort {
  return {
    postMessage: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (message) => listener(message as WorkerResponse)),
    onExit: (listener) => child.on('exit', (code) => listener(new Error(`inference process exited with code ${code}`))),
    terminate: async () => {
      child.kill();
    },
  };
}

export type PredictOutcome =
  | { ok: true; prediction: ImagePrediction }
  | { ok: false; kind: ImageFailureKind; message: string };

export class InferenceError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

type Pending = { resolve: (response: WorkerResponse) => void; reject: (error: Error) => void };

export class InferenceClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private disposed = false;
  private loaded: ModelInfo | null = null;

  private constructor(private readonly port: WorkerPort) {}

  /** The loaded model's card, files, provider report and thresholds. */
  get model(): ModelInfo {
    if (!this.loaded) throw new Error('no model is loaded');
    return this.loaded;
  }

  /** Starts a worker and loads the model; rejects with the worker's message when the model cannot load. */
  static async start(settings: LoadSettings, port: WorkerPort = threadWorkerPort()): Promise<InferenceClient> {
    const client = new InferenceClient(port);
    port.onMessage((message) => client.receive(message));
    port.onExit((error) => client.fail(error));
    try {
      const response = await client.request({ type: 'load', id: 0, settings });
      if (response.type !== 'loaded') throw new Error(`unexpected reply to load: ${response.type}`);
      client.loaded = response.info;
      return client;
    } catch (error) {
      await client.dispose();
      throw error;
    }
  }

  async predict(file: string): Promise<PredictOutcome> {
    const response = await this.request({ type: 'predict', id: 0, file });
    if (response.type === 'prediction') return { ok: true, prediction: response.prediction };
    if (response.type === 'image-failed') return { ok: false, kind: response.kind, message: response.message };
    throw new Error(`unexpected reply to predict: ${response.type}`);
  }

  /** Releases the session and stops the worker. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.dead) {
      try {
        await this.request({ type: 'dispose', id: 0 }, true);
      } catch {
        // The worker is going away either way.
      }
    }
    await this.port.terminate();
  }

  private request(message: WorkerRequest, allowDisposed = false): Promise<WorkerResponse> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.disposed && !allowDisposed) return Promise.reject(new Error('inference client is disposed'));
    const id = this.nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ ...message, id });
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
