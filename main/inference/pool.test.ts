// The pool of inference workers: its layout rule, and real worker processes sharing the images of one model.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerRequest } from './protocol.js';
import { InferenceClient, processWorkerPort, type WorkerPort } from './client.js';
import { cpuLayout, InferencePool } from './pool.js';
import { modelCards, randomScene, seededRandom, writeScene } from './testing.js';

const cardPath = modelCards().maskrcnn;
let dir: string;
const files: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-pool-'));
  const random = seededRandom(11);
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, `scene-${i}.png`);
    await writeScene(file, randomScene(random, 320, 240, 3));
    files.push(file);
  }
});

/** A process's nice value, field 19 of /proc/PID/stat (Linux). */
function niceOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[16]);
}

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cpuLayout', () => {
  it('gives one single-threaded worker per core up to four, then shares the cores out as threads', () => {
    expect(cpuLayout(1)).toEqual({ workers: 1, threadsPerWorker: 1 });
    expect(cpuLayout(2)).toEqual({ workers: 2, threadsPerWorker: 1 });
    expect(cpuLayout(4)).toEqual({ workers: 4, threadsPerWorker: 1 });
    expect(cpuLayout(8)).toEqual({ workers: 4, threadsPerWorker: 2 });
    expect(cpuLayout(16)).toEqual({ workers: 4, threadsPerWorker: 4 });
  });

  it('keeps an explicit workers or threads count', () => {
    expect(cpuLayout(16, 1)).toEqual({ workers: 1, threadsPerWorker: 16 });
    expect(cpuLayout(8, 3)).toEqual({ workers: 3, threadsPerWorker: 2 });
    expect(cpuLayout(2, undefined, 2)).toEqual({ workers: 2, threadsPerWorker: 2 });
    expect(cpuLayout(2, 1, 1)).toEqual({ workers: 1, threadsPerWorker: 1 });
  });
});

describe('InferencePool', () => {
  it('shares images between its worker processes and predicts what one worker alone does', async () => {
    const predictsPerWorker: number[] = [];
    const pids: number[] = [];
    const countingPort = (): WorkerPort => {
      const port = processWorkerPort();
      pids.push(port.pid!);
      const index = predictsPerWorker.push(0) - 1;
      return {
        ...port,
        pid: port.pid,
        postMessage: (message: WorkerRequest) => {
          if (message.type === 'predict') predictsPerWorker[index]!++;
          port.postMessage(message);
        },
      };
    };
    const pool = await InferencePool.start({ cardPath, provider: 'cpu', scoreThreshold: 0.3 }, { workers: 2, workerPort: countingPort, cores: 2 });
    const single = await InferenceClient.start({ cardPath, provider: 'cpu', scoreThreshold: 0.3, intraOpThreads: 1 });
    try {
      expect(pool.layout).toEqual({ workers: 2, threadsPerWorker: 1 });
      // Worker processes run below normal priority (nice 10 on Linux, or the caller's own if that is lower still).
      const callerNice = niceOf(process.pid);
      expect(pids.map(niceOf)).toEqual([Math.max(10, callerNice), Math.max(10, callerNice)]);
      expect(pool.model.provider).toMatchObject({ requested: 'cpu', provider: 'cpu' });
      const pooled = await Promise.all(files.map((file) => pool.predict(file)));
      expect(predictsPerWorker).toEqual([3, 3]);
      for (const [i, file] of files.entries()) {
        const alone = await single.predict(file);
        const outcome = pooled[i]!;
        if (!outcome.ok || !alone.ok) throw new Error(`${file} failed`);
        expect(outcome.prediction.detections.length).toBeGreaterThan(0);
        expect(outcome.prediction.detections).toEqual(alone.prediction.detections);
      }
    } finally {
      await Promise.all([pool.dispose(), single.dispose()]);
    }
  });

  it('refuses to start when a worker cannot load the model, and leaves no worker behind', async () => {
    const ports: WorkerPort[] = [];
    const exited: boolean[] = [];
    const trackedPort = (): WorkerPort => {
      const port = processWorkerPort();
      const index = ports.push(port) - 1;
      exited[index] = false;
      port.onExit(() => (exited[index] = true));
      return port;
    };
    await expect(
      InferencePool.start({ cardPath: path.join(dir, 'missing.json'), provider: 'cpu' }, { workers: 2, workerPort: trackedPort }),
    ).rejects.toThrow(/missing\.json: cannot read model card/);
    expect(ports).toHaveLength(1);
    await expect.poll(() => exited).toEqual([true]);
  });
});
