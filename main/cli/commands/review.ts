import { minimatch } from 'minimatch';
import { conflictingRules, type ReviewRules } from '../../../app/review/index.js';
import type { ImageRecord } from '../../../app/model/index.js';
import { openStore, stringValue, UsageError, type Command, type ParsedArgs } from '../command.js';

function threshold(args: ParsedArgs, name: 'accept-above' | 'reject-below'): number | undefined {
  const text = stringValue(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`--${name} must be a number from 0 to 1, got '${text}'`);
  }
  return value;
}

export interface ReviewTotals {
  /** Images the glob selected (missing and unreadable ones among them are skipped). */
  images: number;
  /** Images where something changed: a decision, or the status. */
  touched: number;
  accepted: number;
  rejected: number;
  markedReviewed: number;
  /** Stale annotations kept (they fit the image) and dropped (they do not), when marking reviewed. */
  staleKept: number;
  staleDropped: number;
  skipped: { missing: number; unreadable: number };
}

export const reviewCommand: Command = {
  name: 'review',
  summary: 'record review decisions without the app: accept or reject predictions by score, mark images reviewed',
  usage: '<folder> [--only GLOB] [--accept-above T] [--reject-below T] [--accept-all] [--reject-pending] [--mark-reviewed] [--json] [--db FILE]',
  details: [
    '--only GLOB         only images whose path relative to the folder matches, e.g. \'batch-7/**\' or \'**/*.png\'',
    '--accept-above T    accept every pending prediction scoring T or more',
    '--reject-below T    reject every pending prediction scoring below T',
    '--accept-all        accept every pending prediction',
    '--reject-pending    reject every pending prediction no other option accepted',
    '--mark-reviewed     then mark each image reviewed, settling it as the app\'s Enter does: a prediction left pending',
    '                    is accepted if it scores --accept-above T or more, else rejected; stale annotations are kept',
    '                    if the image still has the size they were made for, else removed',
    '--json              print the counts as JSON',
    'Each decision is recorded in the edit history as a person\'s, as in the app; all images change in one transaction.',
    'Missing and unreadable images are skipped.',
  ],
  options: {
    only: { type: 'string' },
    'accept-above': { type: 'string' },
    'reject-below': { type: 'string' },
    'accept-all': { type: 'boolean' },
    'reject-pending': { type: 'boolean' },
    'mark-reviewed': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: ['folder'],
  async run(args, io) {
    const acceptAbove = threshold(args, 'accept-above');
    const rejectBelow = threshold(args, 'reject-below');
    const rules: ReviewRules = {
      ...(acceptAbove !== undefined ? { acceptAbove } : {}),
      ...(rejectBelow !== undefined ? { rejectBelow } : {}),
      ...(args.values['accept-all'] ? { acceptAll: true } : {}),
      ...(args.values['reject-pending'] ? { rejectPending: true } : {}),
    };
    const markReviewed = args.values['mark-reviewed'] === true;
    if (Object.keys(rules).length === 0 && !markReviewed) {
      throw new UsageError('review needs a decision: --accept-above, --reject-below, --accept-all, --reject-pending or --mark-reviewed');
    }
    const problem = conflictingRules(rules);
    if (problem !== null) throw new UsageError(problem);
    const only = stringValue(args, 'only');
    const selected = only === undefined ? () => true : (path: string) => minimatch(path, only, { dot: true });

    const store = openStore(args, { mustExist: true });
    try {
      const totals: ReviewTotals = {
        images: 0, touched: 0, accepted: 0, rejected: 0, markedReviewed: 0, staleKept: 0, staleDropped: 0, skipped: { missing: 0, unreadable: 0 },
      };
      const view = acceptAbove !== undefined ? { threshold: acceptAbove } : null;
      store.transaction(() => {
        for (const image of allImages(store.images.list.bind(store.images))) {
          if (!selected(image.path)) continue;
          totals.images++;
          if (image.missing) totals.skipped.missing++;
          else if (image.status === 'error') totals.skipped.unreadable++;
          if (image.missing || image.status === 'error') continue;
          const outcome = store.review.review(image.id, rules, { markReviewed, view });
          const marked = markReviewed && outcome.previousStatus !== 'reviewed';
          const changed = outcome.changes.added.length + outcome.changes.updated.length + outcome.changes.removed.length > 0;
          if (changed || marked) totals.touched++;
          if (marked) totals.markedReviewed++;
          totals.accepted += outcome.accepted;
          totals.rejected += outcome.rejected;
          totals.staleKept += outcome.kept;
          totals.staleDropped += outcome.dropped;
        }
      });
      io.out(args.values.json ? `${JSON.stringify(totals, null, 2)}\n` : summary(args.positionals[0]!, totals));
    } finally {
      store.close();
    }
  },
};

function* allImages(list: (query: { after: string | null; limit: number }) => { items: ImageRecord[]; next: string | null }) {
  let after: string | null = null;
  do {
    const page = list({ after, limit: 1000 });
    yield* page.items;
    after = page.next;
  } while (after !== null);
}

function summary(folder: string, t: ReviewTotals): string {
  const lines = [
    `${folder}: ${t.touched} of ${t.images} images touched: ${t.accepted} accepted, ${t.rejected} rejected, ${t.markedReviewed} marked reviewed`,
  ];
  if (t.staleKept + t.staleDropped > 0) lines.push(`stale annotations: ${t.staleKept} kept, ${t.staleDropped} removed (the image changed size)`);
  if (t.skipped.missing + t.skipped.unreadable > 0) {
    lines.push(`skipped: ${t.skipped.missing} missing, ${t.skipped.unreadable} unreadable`);
  }
  return `${lines.join('\n')}\n`;
}
