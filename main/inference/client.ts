// The caller's side of the inference worker: start it, load a model, predict images, dispose it.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ImageFailureKind } from './decode.js';
import type { ImagePrediction } from './pipeline.js';
import type { LoadSettings, ModelInfo, WorkerRequest, WorkerResponse } from './protocol.js';

/** The worker's process or thread ended (a crash, a kill, out of memory): every request pending on it fails so. */
export class WorkerExitError extends Error {
  override readonly name = 'WorkerExitError';
}

/**
 * What the client needs from whatever hosts the worker: a child process (the default under Node), an Electron
 * utilityProcess, or a worker_threads Worker.
 */
export interface WorkerPort {
  /** The worker's process id where it has its own process (for memory figures). */
  readonly pid?: number;
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

/**
 * Environment of the worker's own process. glibc's malloc raises its mmap threshold each time a large block is
 * freed, after which image-sized buffers (decoded pixels, input tensors, full-image mask outputs) come from heaps
 * that fragment and keep growing over thousands of images; a fixed threshold keeps them in mmaps that go back to
 * the system when freed (bench:prelabel, BENCHMARKS.md). Other C libraries ignore the variable.
 */
export function workerProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { MALLOC_MMAP_THRESHOLD_: '131072', ...base };
}

/**
 * The worker in a child process: a crash in the runtime cannot take the caller down, and the allocator settings
 * above apply to it alone. The child exits when its parent goes away, even on kill -9.
 */
export function processWorkerPort(entry = workerEntryPath(), env: NodeJS.ProcessEnv = workerProcessEnv()): WorkerPort {
  const child = fork(entry, [], { env, execArgv: [], serialization: 'advanced', stdio: 'inherit' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  return {
    pid: child.pid,
    postMessage: (message) => child.send(message),
    onMessage: (listener) => child.on('message', (message) => listener(message as WorkerResponse)),
    onExit: (listener) => {
      child.on('error', (error) => listener(new WorkerExitError(`inference process failed: ${error.message}`)));
      child.on('exit', (code, signal) => {
        running = false;
        listener(new WorkerExitError(`inference process exited with ${signal ? `signal ${signal}` : `code ${code}`}`));
      });
    },
    terminate: async () => {
      if (running) child.kill();
      await exited;
    },
  };
}

export function threadWorkerPort(entry = workerEntryPath()): WorkerPort {
  const worker = new Worker(entry);
  let exited = false;
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onExit: (listener) => {
      worker.on('error', (error) => listener(new WorkerExitError(`inference worker failed: ${error.message}`)));
      worker.on('exit', (code) => {
        exited = true;
        listener(new WorkerExitError(`inference worker exited with code ${code}`));
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
    onExit: (listener) => child.on('exit', (code) => listener(new WorkerExitError(`inference process exited with code ${code}`))),
    terminate: async () => {
      child.kill();
    },
  };
}

export type PredictOutcome =
  | { ok: true; prediction: ImagePrediction }
  | { ok: false; kind: ImageFailureKind; message: string }
  /** Dropped by cancelPending() before its run: the image was not looked at. */
  | { ok: false; cancelled: true };

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

  /** True once the worker has gone (crashed or killed); every request then fails with WorkerExitError. */
  get exited(): boolean {
    return this.dead !== null;
  }

  /** The loaded model's card, files, provider report and thresholds. */
  get model(): ModelInfo {
    if (!this.loaded) throw new Error('no model is loaded');
    return this.loaded;
  }

  /** Starts a worker and loads the model; rejects with the worker's message when the model cannot load. */
  static async start(settings: LoadSettings, port: WorkerPort = processWorkerPort()): Promise<InferenceClient> {
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
    if (response.type === 'cancelled') return { ok: false, cancelled: true };
    throw new Error(`unexpected reply to predict: ${response.type}`);
  }

  /** Predictions asked for but not yet running come back cancelled; the one running finishes. */
  async cancelPending(): Promise<void> {
    await this.request({ type: 'cancel-pending', id: 0 });
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
