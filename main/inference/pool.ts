// Several inference workers behind the face of one client. On a CPU, sessions with few threads each, in parallel
// processes, keep the cores busier than one session with many threads (a small model's operators scale poorly
// across threads), and one worker's decoding and post-processing fill the gaps in another's model run
// (BENCHMARKS.md, "Pre-labeling").
import os from 'node:os';
import { InferenceClient, type PredictOutcome, type WorkerPort } from './client.js';
import type { LoadSettings, ModelInfo } from './protocol.js';

export interface PoolLayout {
  workers: number;
  /** onnxruntime intra-op threads of each worker's session. */
  threadsPerWorker: number;
}

/** More workers than this mostly add memory (a model and a decoder each) for little speed. */
const MAX_DEFAULT_WORKERS = 4;

/**
 * How to split `cores` between CPU sessions: one worker per core up to four, the cores shared out as threads.
 * An explicit workers or threads count is kept as given.
 */
export function cpuLayout(cores: number, workers?: number, threadsPerWorker?: number): PoolLayout {
  const count = workers ?? Math.min(MAX_DEFAULT_WORKERS, Math.max(1, cores));
  return { workers: count, threadsPerWorker: threadsPerWorker ?? Math.max(1, Math.floor(cores / count)) };
}

export interface PoolOptions {
  /** Workers to start; by default cpuLayout's on a CPU and one on an accelerator. */
  workers?: number;
  /** Hosts each worker (an Electron utilityProcess, a worker thread); a child process by default. */
  workerPort?: () => WorkerPort;
  /** Cores to plan for; this machine's by default. */
  cores?: number;
}

export class InferencePool {
  /** Predictions asked of each worker and not yet answered. */
  private readonly outstanding: number[];

  private constructor(
    private readonly clients: InferenceClient[],
    readonly layout: PoolLayout,
  ) {
    this.outstanding = clients.map(() => 0);
  }

  /**
   * Starts the first worker, which settles the provider (and reports a fallback), then the others on that same
   * provider. An accelerator gets one worker unless more are asked for: a second session would halve its memory.
   */
  static async start(settings: LoadSettings, options: PoolOptions = {}): Promise<InferencePool> {
    const planned = cpuLayout(options.cores ?? os.availableParallelism(), options.workers, settings.intraOpThreads);
    const workerSettings: LoadSettings = { ...settings, intraOpThreads: planned.threadsPerWorker };
    const first = await InferenceClient.start(workerSettings, options.workerPort?.());
    const provider = first.model.provider.provider;
    const workers = provider === 'cpu' || options.workers !== undefined ? planned.workers : 1;
    const others = await Promise.allSettled(
      Array.from({ length: workers - 1 }, () => InferenceClient.start({ ...workerSettings, provider }, options.workerPort?.())),
    );
    const started = others.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = others.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      await Promise.all([first, ...started].map((client) => client.dispose()));
      throw failed.reason;
    }
    return new InferencePool([first, ...started], { workers, threadsPerWorker: planned.threadsPerWorker });
  }

  /** The loaded model's card, files, provider report and thresholds (the same in every worker). */
  get model(): ModelInfo {
    return this.clients[0]!.model;
  }

  /** Predicts one image on the worker with the fewest predictions waiting. */
  async predict(file: string): Promise<PredictOutcome> {
    let chosen = 0;
    for (let i = 1; i < this.clients.length; i++) if (this.outstanding[i]! < this.outstanding[chosen]!) chosen = i;
    this.outstanding[chosen]!++;
    try {
      return await this.clients[chosen]!.predict(file);
    } finally {
      this.outstanding[chosen]!--;
    }
  }

  /** Predictions not yet running, on every worker, come back cancelled; the ones running finish. */
  async cancelPending(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.cancelPending()));
  }

  /** Stops every worker. Safe to call more than once. */
  async dispose(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.dispose()));
  }
}
