import { oneLine } from '../../fs/imageProblem.js';
import { scanFolder } from '../../fs/index.js';
import { openStore, type Command } from '../command.js';

export const scanCommand: Command = {
  name: 'scan',
  summary: 'find the images in a folder and record them in its project database',
  usage: '<folder> [--verify] [--db FILE]',
  details: [
    '--verify  decode every image fully (slower) to find files cut short; by default only headers are read',
    'Rescanning adds new images, follows moved files and marks vanished ones missing; no annotation is deleted.',
    'A file is changed when its content hash differs (a touched file is not): it goes back to new, its pending',
    'predictions are dropped and its other annotations kept but marked stale until it is reviewed again.',
    'Every unreadable image of the project is listed with the reason, and every symbolic link leading out of the',
    'folder (never followed: a project stays inside its folder).',
  ],
  options: { verify: { type: 'boolean' } },
  positionals: ['folder'],
  async run(args, io) {
    const store = openStore(args);
    try {
      let shown = -1;
      const summary = await scanFolder(store, {
        verify: args.values.verify === true,
        onProgress: ({ phase, done, total }) => {
          if (!io.interactive || phase !== 'probing') return;
          const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
          if (percent !== shown) io.err(`\rscanning ${done}/${total} (${percent}%)`);
          shown = percent;
        },
      });
      if (io.interactive) io.err('\r\x1b[K');
      const parts = [
        `${summary.added} new`,
        `${summary.changed} changed`,
        `${summary.moved} moved`,
        `${summary.unchanged} unchanged`,
        `${summary.missing} missing`,
        `${summary.unreadable.length} unreadable`,
      ];
      const links = summary.linksOutside.length;
      if (links > 0) parts.push(`${links} link${links === 1 ? '' : 's'} out of the folder not followed`);
      io.out(`${args.positionals[0]}: ${summary.files} images (${parts.join(', ')}) in ${formatDuration(summary.durationMs)}\n`);
      for (const { path, reason } of summary.unreadable) io.out(`  ${path}: ${oneLine(reason)}\n`);
      for (const { path, target } of summary.linksOutside) io.out(`  ${path}: a link out of the folder (to ${target}), not followed\n`);
      io.out(`database: ${store.dbPath}\n`);
    } finally {
      store.close();
    }
  },
};

const formatDuration = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
