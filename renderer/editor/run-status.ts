// The status bar's words for a pre-label run: how far, how fast, how long left, and where the model runs.
import type { RunProgress } from '../../app/ipc/contract.js';
import { PROVIDER_LABELS } from '../../app/model/index.js';

export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** "CPU, 2 workers", "CUDA", or "CPU (fallback)" when 'auto' could not use the accelerator. */
export function engineText(engine: RunProgress['engine']): string {
  const workers = engine.workers > 1 ? `, ${engine.workers} workers` : '';
  return `${PROVIDER_LABELS[engine.provider]}${engine.fallback ? ' (fallback)' : ''}${workers}`;
}

export function runStatusText(run: RunProgress): string {
  const failed = run.failed ? `, ${run.failed} failed` : '';
  const pace = run.state === 'running' && run.rate > 0 ? `, ${run.rate.toFixed(1)} images/s` : '';
  const left = run.state === 'running' && run.eta !== null ? `, ${durationText(run.eta)} left` : '';
  return `pre-label ${run.state}: ${run.done}/${run.total}${failed}${pace}${left} on ${engineText(run.engine)}`;
}

/** Said once when a run starts on the CPU because the accelerator could not: the reason, in full. */
export function fallbackNotice(run: RunProgress): string | null {
  return run.engine.fallback ? `Pre-labelling on the ${PROVIDER_LABELS[run.engine.provider]}: ${run.engine.fallback}` : null;
}

/** The local time of day of an ISO 8601 instant, as HH:MM. */
export function clockTime(iso: string): string {
  const at = new Date(iso);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}

/** The status bar's words for a run another process holds on the folder (a `loupe prelabel` in a terminal). */
export function otherRunText(run: { readonly pid: number; readonly state: string; readonly total: number; readonly done: number; readonly failed: number }): string {
  if (run.state === 'starting') return `pre-label starting in another process (pid ${run.pid})`;
  const failed = run.failed ? `, ${run.failed} failed` : '';
  return `pre-label ${run.state} in another process (pid ${run.pid}): ${run.done}/${run.total}${failed}`;
}
