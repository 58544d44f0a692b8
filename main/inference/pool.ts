// Several inference workers behind the face of one client. On a CPU, sessions with few threads each, in parallel
// processes, keep the cores busier than one session with many threads (a small model's operators scale poorly
// across threads), and one worker's decoding and post-processing fill the gaps in another's model run
// (BENCHMARKS.md, "Pre-labeling"). A worker that dies (a decoder crash on a malformed file, the system killing it
// for memory) is replaced, and the images it held are tried again one by one, so one bad file fails alone.
import os from 'node:os';
import { InferenceClient, WorkerExitError, type PredictOutcome, type WorkerPort } from './client.js';
import type { LoadSettings, ModelInfo } from './protocol.js';

export interface PoolLayout {
  workers: number;
  /** onnxruntime intra-op threads of each worker's session. */
  threadsPerWorker: number;
}

/** More workers than this mostly add memory (a model and a decoder each) for little speed. */
const MAX_DEFAULT_WORKERS = 4;

/** Images in a row that crash a worker even alone, after which the pool gives up: the fault is not the images'. */
export const MAX_CRASHES_IN_A_ROW = 3;

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
  /** Replacements under way, by the worker that died, so that its pending predictions start one replacement. */
  private readonly replacements = new Map<InferenceClient, Promise<void>>();
  /** Images being tried again alone after a crash, one at a time. */
  private retries: Promise<unknown> = Promise.resolve();
  private crashesInARow = 0;
  private disposed = false;

  private constructor(
    private readonly clients: InferenceClient[],
    readonly layout: PoolLayout,
    private readonly startWorker: () => Promise<InferenceClient>,
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
    const startWorker = () => InferenceClient.start({ ...workerSettings, provider }, options.workerPort?.());
    const workers = provider === 'cpu' || options.workers !== undefined ? planned.workers : 1;
    const others = await Promise.allSettled(Array.from({ length: workers - 1 }, startWorker));
    const started = others.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = others.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      await Promise.all([first, ...started].map((client) => client.dispose()));
      throw failed.reason;
    }
    return new InferencePool([first, ...started], { workers, threadsPerWorker: planned.threadsPerWorker }, startWorker);
  }

  /** The loaded model's card, files, provider report and thresholds (the same in every worker). */
  get model(): ModelInfo {
    return this.clients[0]!.model;
  }

  /**
   * Predicts one image on the worker with the fewest predictions waiting. When that worker dies meanwhile, the
   * image is tried again alone in a worker of its own; if that one dies too, the image fails as 'crashed'.
   */
  async predict(file: string): Promise<PredictOutcome> {
    let chosen = this.leastBusy();
    while (this.clients[chosen]!.exited) {
      await this.replace(chosen, this.clients[chosen]!);
      chosen = this.leastBusy();
    }
    const client = this.clients[chosen]!;
    this.outstanding[chosen]!++;
    try {
      const outcome = await client.predict(file);
      this.crashesInARow = 0;
      return outcome;
    } catch (error) {
      if (!(error instanceof WorkerExitError) || this.disposed) throw error;
      await this.replace(chosen, client);
      return await this.predictAlone(file);
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
    this.disposed = true;
    await Promise.allSettled(this.replacements.values());
    await Promise.all(this.clients.map((client) => client.dispose()));
  }

  private leastBusy(): number {
    let chosen = 0;
    for (let i = 1; i < this.clients.length; i++) if (this.outstanding[i]! < this.outstanding[chosen]!) chosen = i;
    return chosen;
  }

  /** Puts a fresh worker where `dead` was; every caller for the same dead worker waits on the same replacement. */
  private replace(index: number, dead: InferenceClient): Promise<void> {
    let replacement = this.replacements.get(dead);
    if (!replacement) {
      replacement = (async () => {
        await dead.dispose();
        const fresh = await this.startWorker();
        if (this.disposed) await fresh.dispose();
        else this.clients[index] = fresh;
      })();
      this.replacements.set(dead, replacement);
    }
    return replacement;
  }

  /**
   * Which of the images a dead worker held killed it is unknown (the one running, or one being decoded), so each
   * goes again alone, in a worker started for it, one image at a time.
   */
  private predictAlone(file: string): Promise<PredictOutcome> {
    const attempt = this.retries.then(async (): Promise<PredictOutcome> => {
      if (this.disposed) throw new Error('inference pool is disposed');
      const alone = await this.startWorker();
      try {
        const outcome = await alone.predict(file);
        this.crashesInARow = 0;
        return outcome;
      } catch (error) {
        if (!(error instanceof WorkerExitError)) throw error;
        if (++this.crashesInARow >= MAX_CRASHES_IN_A_ROW) {
          throw new Error(`inference workers keep crashing: ${MAX_CRASHES_IN_A_ROW} images in a row, each alone (${error.message})`);
        }
        return { ok: false, kind: 'crashed', message: `the inference process crashed on this image, alone as well (${error.message})` };
      } finally {
        await alone.dispose();
      }
    });
    this.retries = attempt.catch(() => undefined);
    return attempt;
  }
}
