// What the taskbar/dock progress bar and the end-of-run notification say about a pre-label run.
import type { RunProgress } from '../../app/ipc/contract.js';
import type { JobSummary } from '../jobs/prelabel-job.js';

/** Arguments for BrowserWindow.setProgressBar: -1 removes the bar; `mode` is honoured on Windows. */
export interface ProgressBarState {
  readonly value: number;
  readonly mode: 'none' | 'normal' | 'paused' | 'error';
}

export function progressBarState(progress: RunProgress): ProgressBarState {
  const fraction = progress.total > 0 ? Math.min(1, (progress.done + progress.failed) / progress.total) : 0;
  switch (progress.state) {
    case 'running':
      return { value: fraction, mode: 'normal' };
    case 'paused':
      return { value: fraction, mode: 'paused' };
    default:
      return { value: -1, mode: 'none' };
  }
}

export interface Notice {
  readonly title: string;
  readonly body: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function runEndNotice(summary: JobSummary): Notice {
  const seconds = summary.wallSeconds < 10 ? summary.wallSeconds.toFixed(1) : Math.round(summary.wallSeconds).toString();
  const done = `${plural(summary.done, 'image')} pre-labelled in ${seconds} s`;
  const failed = summary.failed > 0 ? `, ${summary.failed} failed` : '';
  switch (summary.state) {
    case 'done':
      return { title: 'Pre-labelling finished', body: `${done}${failed}.` };
    case 'cancelled':
      return { title: 'Pre-labelling stopped', body: `${done}${failed}; start again to do the ${summary.total - summary.done - summary.failed} left.` };
    case 'failed':
      return { title: 'Pre-labelling failed', body: `${summary.error ?? 'unknown error'} (${done}${failed}).` };
  }
}
