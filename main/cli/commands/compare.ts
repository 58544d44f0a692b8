import path from 'node:path';
import { GOOD_IOU, MATCH_IOU } from '../../../app/eval/compare.js';
import { activeModelCard } from '../../jobs/active-model.js';
import { compareWithReviewed, type ComparisonResult } from '../../learning/comparison.js';
import { CliError, openStore, stringValue, type Command } from '../command.js';
import { providerOf, workersOf } from './evaluate.js';

/** Images listed in the text summary; --json lists all. */
const MAX_LISTED = 30;

export const compareCommand: Command = {
  name: 'compare',
  summary: 'run a model on the reviewed images and count, per image, what it missed, what it added and what it outlined poorly',
  usage: '<folder> [--model CARD] [--provider P] [--workers N] [--json] [--db FILE]',
  details: [
    '--model CARD        the model to compare; default: the project\'s active model',
    '--provider, --workers  where and in how many processes it runs (as `loupe prelabel`)',
    '--json              print every image\'s counts as JSON',
    `Its predictions at or above its card's threshold go to the project's comparison set (never into the annotations;`,
    `the set holds one model's comparison at a time). Per reviewed image: missed (a reviewed instance no prediction`,
    `matches at mask IoU ${MATCH_IOU}), extra (a prediction matching no instance) and low-overlap (a match below IoU ${GOOD_IOU}).`,
    'The app\'s image list filters the images that disagree and draws the difference on the canvas.',
  ],
  options: {
    model: { type: 'string' },
    provider: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: ['folder'],
  async run(args, io) {
    const provider = providerOf(args);
    const workers = workersOf(args);
    const folder = args.positionals[0]!;
    const store = openStore(args, { mustExist: true });
    try {
      const named = stringValue(args, 'model');
      const card = path.resolve(named ?? activeModelCard(store).cardPath);
      if (store.images.countByStatus().reviewed === 0) throw new CliError(folder, 'no reviewed images to compare with; review some first');
      let result: ComparisonResult;
      try {
        result = await compareWithReviewed(store, card, { provider, ...(workers !== undefined ? { workers } : {}) });
      } catch (error) {
        throw new CliError(card, (error as Error).message.replace(`${card}: `, ''));
      }
      io.out(args.values.json ? `${JSON.stringify(toJson(result), null, 2)}\n` : comparisonText(folder, result));
    } finally {
      store.close();
    }
  },
};

function totals(result: ComparisonResult) {
  const sum = (key: 'matched' | 'missed' | 'extra' | 'lowOverlap') => result.images.reduce((n, i) => n + i.counts[key], 0);
  const disagreeing = result.images.filter((i) => i.counts.missed + i.counts.extra + i.counts.lowOverlap > 0);
  return { images: result.images.length, matched: sum('matched'), lowOverlap: sum('lowOverlap'), missed: sum('missed'), extra: sum('extra'), disagreeing };
}

function toJson(result: ComparisonResult) {
  const t = totals(result);
  return {
    model: result.modelName,
    modelId: result.modelId,
    threshold: result.threshold,
    totals: { images: t.images, matched: t.matched, lowOverlap: t.lowOverlap, missed: t.missed, extra: t.extra, disagreeing: t.disagreeing.length },
    images: result.images.map(({ image, counts }) => ({ path: image.path, ...counts })),
    failures: result.failures,
    unknownClasses: result.unknownClasses,
  };
}

function comparisonText(folder: string, result: ComparisonResult): string {
  const t = totals(result);
  const lines = [
    `${folder}: ${result.modelName} (threshold ${result.threshold}) on ${t.images} reviewed images: ${t.matched} matched ` +
      `(${t.lowOverlap} with low overlap), ${t.missed} missed, ${t.extra} extra; ${t.disagreeing.length} images disagree`,
  ];
  const width = Math.max(4, ...t.disagreeing.map((i) => i.image.path.length));
  if (t.disagreeing.length > 0) lines.push(`  ${'path'.padEnd(width)}  missed  extra  low-overlap`);
  const worst = [...t.disagreeing].sort((a, b) => total(b.counts) - total(a.counts) || a.image.path.localeCompare(b.image.path));
  for (const { image, counts } of worst.slice(0, MAX_LISTED)) {
    lines.push(`  ${image.path.padEnd(width)}  ${String(counts.missed).padStart(6)}  ${String(counts.extra).padStart(5)}  ${String(counts.lowOverlap).padStart(11)}`);
  }
  if (worst.length > MAX_LISTED) lines.push(`  ... and ${worst.length - MAX_LISTED} more (--json lists all)`);
  for (const failure of result.failures) lines.push(`  could not run on ${failure.path}: ${failure.message}`);
  if (result.unknownClasses.length > 0) lines.push(`  not compared (no such class in the project): ${result.unknownClasses.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

const total = (c: { missed: number; extra: number; lowOverlap: number }) => c.missed + c.extra + c.lowOverlap;
