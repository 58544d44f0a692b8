import { IMAGE_STATUSES } from '../../../app/model/index.js';
import type { ProjectStats } from '../../store/index.js';
import { openStore, type Command } from '../command.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'images by status, the files that failed and why, instances by class',
  usage: '<folder> [--json] [--db FILE]',
  details: ['--json    print the figures as JSON for scripts'],
  options: { json: { type: 'boolean' } },
  positionals: ['folder'],
  async run(args, io) {
    const store = openStore(args, { mustExist: true });
    try {
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
  lines.push(`failed: ${stats.failed.length}`);
  for (const f of stats.failed) lines.push(`  ${f.path} (${f.stage}): ${f.reason}`);
  lines.push(`instances by class:${stats.classes.length === 0 ? ' none yet' : ''}`);
  const width = Math.max(0, ...stats.classes.map((c) => c.name.length));
  for (const c of stats.classes) lines.push(`  ${c.name.padEnd(width)} ${String(c.instances).padStart(7)}`);
  return `${lines.join('\n')}\n`;
}
