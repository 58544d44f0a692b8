import { describe, expect, it } from 'vitest';
import { RunId } from '../../app/model/index.js';
import type { JobSummary } from '../jobs/prelabel-job.js';
import { progressBarState, runEndNotice } from './run-feedback.js';

const progress = {
  runId: RunId(1),
  total: 200,
  done: 40,
  failed: 10,
  rate: 3,
  eta: 50,
  engine: { provider: 'cpu' as const, fallback: null, workers: 2, threadsPerWorker: 1 },
};

describe('progressBarState', () => {
  it('shows the processed fraction while running or paused, and removes the bar otherwise', () => {
    expect(progressBarState({ ...progress, state: 'running' })).toEqual({ value: 0.25, mode: 'normal' });
    expect(progressBarState({ ...progress, state: 'paused' })).toEqual({ value: 0.25, mode: 'paused' });
    for (const state of ['done', 'cancelled', 'failed'] as const) {
      expect(progressBarState({ ...progress, state })).toEqual({ value: -1, mode: 'none' });
    }
    expect(progressBarState({ ...progress, total: 0, done: 0, failed: 0, state: 'running' }).value).toBe(0);
  });
});

describe('runEndNotice', () => {
  const summary: JobSummary = {
    runId: RunId(1), state: 'done', total: 120, done: 118, failed: 2, skippedReviewed: 0, replaced: 0, instancesByClass: {}, failures: [],
    wallSeconds: 61.4, imagesPerSecond: 2, provider: { requested: 'auto', provider: 'cpu', fallback: null }, error: null,
  };
  it('says how many images were done and failed, and how long it took', () => {
    expect(runEndNotice(summary)).toEqual({ title: 'Pre-labelling finished', body: '118 images pre-labelled in 61 s, 2 failed.' });
    expect(runEndNotice({ ...summary, done: 1, failed: 0, wallSeconds: 2.25 }).body).toBe('1 image pre-labelled in 2.3 s.');
  });
  it('says what is left after a cancel, and why a run failed', () => {
    expect(runEndNotice({ ...summary, state: 'cancelled', done: 50, failed: 0 }).body).toBe('50 images pre-labelled in 61 s; start again to do the 70 left.');
    expect(runEndNotice({ ...summary, state: 'failed', error: 'model file missing' })).toEqual({
      title: 'Pre-labelling failed', body: 'model file missing (118 images pre-labelled in 61 s, 2 failed).',
    });
  });
});
