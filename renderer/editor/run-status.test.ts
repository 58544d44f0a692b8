import { describe, expect, it } from 'vitest';
import type { RunProgress } from '../../app/ipc/contract.js';
import { RunId } from '../../app/model/index.js';
import { clockTime, durationText, engineText, fallbackNotice, otherRunText, runStatusText } from './run-status.js';

const cpu = { provider: 'cpu' as const, fallback: null, workers: 2, threadsPerWorker: 1 };
const run: RunProgress = { runId: RunId(3), state: 'running', total: 1000, done: 240, failed: 2, rate: 23.44, eta: 650, engine: cpu };

describe('run status', () => {
  it('says how far, how fast, how long left and where the model runs', () => {
    expect(runStatusText(run)).toBe('pre-label running: 240/1000, 2 failed, 23.4 images/s, 10 min 50 s left on CPU, 2 workers');
  });

  it('leaves out pace and time left until known, and once the run is not running', () => {
    expect(runStatusText({ ...run, failed: 0, rate: 0, eta: null })).toBe('pre-label running: 240/1000 on CPU, 2 workers');
    expect(runStatusText({ ...run, state: 'paused' })).toBe('pre-label paused: 240/1000, 2 failed on CPU, 2 workers');
    expect(runStatusText({ ...run, state: 'done', done: 998 })).toBe('pre-label done: 998/1000, 2 failed on CPU, 2 workers');
  });

  it('names the accelerator, and marks and explains a fallback to the CPU', () => {
    expect(engineText({ ...cpu, provider: 'cuda', workers: 1 })).toBe('CUDA');
    const fallback = 'CUDA provider unavailable: libcudart.so.12: cannot open shared object file; using CPU';
    expect(engineText({ ...cpu, fallback })).toBe('CPU (fallback), 2 workers');
    expect(fallbackNotice({ ...run, engine: { ...cpu, fallback } })).toBe(`Pre-labelling on the CPU: ${fallback}`);
    expect(fallbackNotice(run)).toBeNull();
  });

  it('writes durations in seconds, minutes or hours', () => {
    expect([0, 59.4, 60, 3599, 3600, 7325].map(durationText)).toEqual(['0 s', '59 s', '1 min 00 s', '59 min 59 s', '1 h 00 min', '2 h 02 min']);
  });

  it('says how far another process\'s run is, once it has started', () => {
    const other = { pid: 42, state: 'running', total: 10, done: 3, failed: 1 };
    expect(otherRunText(other)).toBe('pre-label running in another process (pid 42): 3/10, 1 failed');
    expect(otherRunText({ ...other, state: 'starting', total: 0, done: 0, failed: 0 })).toBe('pre-label starting in another process (pid 42)');
    expect(clockTime(new Date(2026, 0, 2, 9, 5).toISOString())).toBe('09:05');
  });
});
