import path from 'node:path';
import { scanFolder } from '../../fs/index.js';
import type { PoolLayout } from '../../inference/pool.js';
import { isProviderChoice, PROVIDER_CHOICES, type ProviderChoice } from '../../inference/providers.js';
import { activeModelCard } from '../../jobs/active-model.js';
import type { RunProgress } from '../../../app/ipc/contract.js';
import { PrelabelJob, type JobSummary } from '../../jobs/prelabel-job.js';
import { RunLockedError, type RunLock } from '../../store/index.js';
import { CliError, openStore, stringValue, UsageError, type CliIo, type Command, type ParsedArgs } from '../command.js';

/** Seconds between progress lines when stderr is not a terminal. */
const LINE_EVERY_S = 5;

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function progressText(p: RunProgress): string {
  const processed = p.done + p.failed;
  const percent = p.total === 0 ? 100 : Math.floor((processed / p.total) * 100);
  return `${processed}/${p.total} (${percent}%), ${p.rate.toFixed(1)} images/s, ETA ${duration(p.eta)}, ${p.failed} failed`;
}

function progressBar(p: RunProgress, width = 30): string {
  const filled = p.total === 0 ? width : Math.round(((p.done + p.failed) / p.total) * width);
  return `\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progressText(p)}${p.state === 'paused' ? ' (paused)' : ''}`;
}

function parseThreshold(args: ParsedArgs): number | undefined {
  const text = stringValue(args, 'threshold');
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`--threshold must be a number from 0 to 1, got '${text}'`);
  }
  return value;
}

function parseProvider(args: ParsedArgs): ProviderChoice {
  const text = stringValue(args, 'provider') ?? 'auto';
  if (!isProviderChoice(text)) throw new UsageError(`--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got '${text}'`);
  return text;
}

function parseCount(args: ParsedArgs, name: 'threads' | 'workers'): number | undefined {
  const text = stringValue(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a whole number of at least 1, got '${text}'`);
  return value;
}

function layoutText({ workers, threadsPerWorker }: PoolLayout): string {
  return `${workers} worker${workers === 1 ? '' : 's'} x ${threadsPerWorker} thread${threadsPerWorker === 1 ? '' : 's'}`;
}

function summaryText(folder: string, summary: JobSummary, layout: PoolLayout, failures: { path: string; stage: string; reason: string }[]): string {
  const provider = summary.provider.fallback ? `${summary.provider.provider} (${summary.provider.fallback})` : summary.provider.provider;
  const lines = [
    `${folder}: ${summary.done} of ${summary.total} images pre-labeled, ${summary.failed} failed` +
      (summary.state === 'cancelled' ? ' (cancelled; run again to do the rest)' : ''),
    `reviewed images skipped: ${summary.skippedReviewed}` +
      (summary.replaced > 0 ? `; ${summary.replaced} pending predictions of other models replaced` : ''),
    `wall time ${summary.wallSeconds.toFixed(1)} s, ${summary.imagesPerSecond.toFixed(2)} images/s, provider ${provider}, ${layoutText(layout)}`,
  ];
  const classes = Object.entries(summary.instancesByClass).sort(([a], [b]) => a.localeCompare(b));
  const total = classes.reduce((sum, [, n]) => sum + n, 0);
  lines.push(`instances: ${total}`);
  const width = Math.max(0, ...classes.map(([name]) => name.length));
  for (const [name, count] of classes) lines.push(`  ${name.padEnd(width)}  ${count}`);
  lines.push(`failures: ${failures.length}`);
  for (const failure of failures) lines.push(`  ${failure.path} (${failure.stage}): ${failure.reason}`);
  return `${lines.join('\n')}\n`;
}

export const prelabelCommand: Command = {
  name: 'prelabel',
  summary: 'pre-label every image of a folder with a Mask R-CNN model (resumes an interrupted run)',
  usage: '<folder> [--model CARD.json] [--provider auto|cpu|cuda|dml|coreml] [--threshold T] [--only-new] [--workers N] [--threads N] [--db FILE]',
  details: [
    '--model CARD.json   model card beside its .onnx; default: the project\'s active model (activated, or its last run\'s),',
    '                    else the shipped resources/models/loupe-shapes.json',
    '--provider NAME     auto tries CUDA (Linux), DirectML (Windows) or CoreML (macOS), then CPU; others force one',
    '--threshold T       score threshold from 0 to 1; default: the card\'s',
    '--only-new          only images without a successful result for this model (otherwise all are redone)',
    '--workers N         inference processes; default: one per core up to 4 on CPU, one on a GPU',
    '--threads N         onnxruntime intra-op threads per worker; default: the cores shared out between workers',
    'A folder that was never scanned is scanned first. A run stopped by a crash or kill is resumed where it stopped.',
    'Reviewed images are never touched. Each image holds one model\'s pending predictions: a run replaces those of',
    'any model, never what a person made, edited, accepted or rejected. One run per folder at a time.',
  ],
  options: {
    model: { type: 'string' },
    provider: { type: 'string' },
    threshold: { type: 'string' },
    'only-new': { type: 'boolean' },
    workers: { type: 'string' },
    threads: { type: 'string' },
  },
  positionals: ['folder'],
  async run(args, io) {
    const provider = parseProvider(args);
    const threshold = parseThreshold(args);
    const threads = parseCount(args, 'threads');
    const workers = parseCount(args, 'workers');
    const store = openStore(args);
    let lock: RunLock;
    try {
      lock = store.runLock.acquire();
    } catch (error) {
      store.close();
      if (error instanceof RunLockedError) throw new CliError(args.positionals[0]!, error.message);
      throw error;
    }
    let lockHandedOver = false;
    try {
      const named = stringValue(args, 'model');
      const active = named === undefined ? activeModelCard(store) : null;
      if (active?.note) io.err(`note: ${active.note}\n`);
      const cardPath = path.resolve(named ?? active!.cardPath);
      if (store.images.count() === 0) {
        const scan = await scanFolder(store);
        io.err(`scanned ${args.positionals[0]}: ${scan.files} images (${scan.unreadable.length} unreadable)\n`);
      }
      let job: PrelabelJob;
      try {
        lockHandedOver = true;
        job = await PrelabelJob.create({
          store,
          cardPath,
          provider,
          lock,
          scope: args.values['only-new'] === true ? 'pending' : 'all',
          ...(threshold !== undefined ? { threshold } : {}),
          ...(threads !== undefined ? { intraOpThreads: threads } : {}),
          ...(workers !== undefined ? { workers } : {}),
        });
      } catch (error) {
        throw new CliError(cardPath, (error as Error).message.replace(`${cardPath}: `, ''));
      }
      const report = job.provider;
      io.err(
        `model ${job.model.name} (${job.model.format}) on ${report.provider.toUpperCase()}, ${layoutText(job.layout)}` +
          (report.fallback ? `: ${report.fallback}` : '') +
          `\n${job.resumed ? `resuming interrupted run ${job.runId}: ` : ''}${job.total} images to pre-label\n`,
      );
      const graphCut = job.card.graph_score_threshold;
      if (threshold !== undefined && graphCut !== undefined && threshold < graphCut) {
        io.err(`note: ${job.model.name} drops detections below ${graphCut} inside its graph; --threshold ${threshold} acts as ${graphCut}\n`);
      }
      renderProgress(job, io);
      const cancel = () => {
        io.err('\ncancelling after the images in flight (Ctrl-C again to stop at once)\n');
        job.cancel();
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', cancel);
      let summary: JobSummary;
      try {
        summary = await job.run();
      } finally {
        process.removeListener('SIGINT', cancel);
      }
      if (summary.state === 'failed') throw new CliError(cardPath, `pre-labeling stopped: ${summary.error}`);
      const failures = store.stats.failedImages().filter((f) => f.stage === 'scan' || f.stage === job.model.name);
      io.out(summaryText(args.positionals[0]!, summary, job.layout, failures));
    } finally {
      if (!lockHandedOver) lock.release();
      store.close();
    }
  },
};

function renderProgress(job: PrelabelJob, io: CliIo): void {
  let lastLine = performance.now();
  job.on((event) => {
    if (event.type === 'progress') {
      if (io.interactive) {
        io.err(progressBar(event.progress));
      } else if (performance.now() - lastLine >= LINE_EVERY_S * 1000) {
        lastLine = performance.now();
        io.err(`prelabel: ${progressText(event.progress)}\n`);
      }
    } else if (event.type === 'image-failed' && !io.interactive) {
      io.err(`prelabel: ${event.path}: ${event.message}\n`);
    } else if (event.type === 'finished' && io.interactive) {
      io.err('\n');
    }
  });
}
