import { IMAGE_STATUSES } from '../../../app/model/index.js';
import type { ProjectStats } from '../../store/index.js';
import { uncertaintyQueue, type QueuedImage } from '../../store/uncertainty.js';
import { openStore, stringValue, UsageError, type Command } from '../command.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'images by status, unreadable files and model failures with why, stale images, instances by class',
  usage: '<folder> [--queue N] [--json] [--db FILE]',
  details: [
    '--json    print the figures as JSON for scripts',
    '--queue N instead, the next N images to review, most uncertain first: uncertainty is the sum over an image\'s',
    '          pending predictions of max(0, 1 - |score - threshold| / 0.2), threshold being their model card\'s',
    'Each count is the length of the list under it; stale images hold annotations made before their file changed.',
  ],
  options: { json: { type: 'boolean' }, queue: { type: 'string' } },
  positionals: ['folder'],
  async run(args, io) {
    const queueText = stringValue(args, 'queue');
    const queue = queueText === undefined ? undefined : Number(queueText);
    if (queue !== undefined && (!Number.isInteger(queue) || queue < 1)) throw new UsageError(`--queue must be a whole number of at least 1, got '${queueText}'`);
    const store = openStore(args, { mustExist: true });
    try {
      if (queue !== undefined) {
        const next = uncertaintyQueue(store.db, queue);
        io.out(args.values.json ? `${JSON.stringify({ queue: next }, null, 2)}\n` : formatQueue(next));
        return;
      }
      const stats = store.stats.summary();
      io.out(args.values.json ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
    } finally {
      store.close();
    }
  },
};

export function formatStats(stats: ProjectStats): string {
  const lines = [`images: ${stats.images}${stats.missing > 0 ? ` (${stats.missing} missing from the folder)` : ''}`];
  for (const status of IMAGE_STATUSES) lines.push(`  ${status.padEnd(10)} ${String(stats.byStatus[status]).padStart(7)}`);
  const unreadable = stats.failed.filter((f) => f.stage === 'scan');
  const modelFailures = stats.failed.filter((f) => f.stage !== 'scan');
  lines.push(`unreadable files: ${unreadable.length}`);
  for (const f of unreadable) lines.push(`  ${f.path}: ${f.reason}`);
  lines.push(`model failures: ${modelFailures.length}`);
  for (const f of modelFailures) lines.push(`  ${f.path} (${f.stage}): ${f.reason}`);
  const staleCount = stats.stale.reduce((n, s) => n + s.annotations, 0);
  lines.push(`stale: ${stats.stale.length} images${stats.stale.length > 0 ? `, ${staleCount} annotations (their file changed; review each image again)` : ''}`);
  for (const s of stats.stale) {
    lines.push(`  ${s.path}: ${s.annotations} made for ${s.madeFor.width} x ${s.madeFor.height}, now ${s.now.width} x ${s.now.height}`);
  }
  lines.push(`instances by class:${stats.classes.length === 0 ? ' none yet' : ''}`);
  const width = Math.max(0, ...stats.classes.map((c) => c.name.length));
  for (const c of stats.classes) lines.push(`  ${c.name.padEnd(width)} ${String(c.instances).padStart(7)}`);
  return `${lines.join('\n')}\n`;
}

export function formatQueue(queue: readonly QueuedImage[]): string {
  const lines = [`next ${queue.length} images to review, most uncertain first (pending predictions near their threshold):`];
  lines.push(`  uncertainty  near  pending  ${'status'.padEnd(10)} path`);
  for (const q of queue) {
    lines.push(`  ${q.uncertainty.toFixed(3).padStart(11)}  ${String(q.nearThreshold).padStart(4)}  ${String(q.pending).padStart(7)}  ${q.status.padEnd(10)} ${q.path}`);
  }
  return `${lines.join('\n')}\n`;
}
