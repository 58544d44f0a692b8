import { cocoExportOptionsSchema } from '../../../app/ipc/contract.js';
import { EXPORT_FORMATS, exchangeExportDetails, exchangeExportOptions, runExchangeExport } from '../../exchange/cli.js';
import { exportCocoFile, type CocoExportResult } from '../../fs/cocoFiles.js';
import { EXIT_WARNINGS, openStore, stringValue, UsageError, type CliIo, type Command } from '../command.js';

/** Names listed per kind of warning; beyond this many, a count. */
const MAX_LISTED = 20;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the reviewed truth as COCO, YOLO, Pascal VOC or LabelMe',
  usage: '<folder> --format coco|yolo|voc|labelme --out FILE|DIR [--all] [--polygons] [--polygons-strict] [--scores] [--include-pending] [--db FILE]',
  details: [
    '--format coco       one COCO JSON file',
    '--out FILE          written atomically: a temporary file beside it, renamed when complete',
    '--all               every image, not only the reviewed ones (each with its reviewed annotations)',
    '--polygons          masks as polygons instead of RLE; a mask with holes stays RLE (valid COCO)',
    '--polygons-strict   with --polygons, masks with holes as polygons too (their holes filled)',
    '--scores            keep the model score on predictions',
    'Written: what a person made, edited or accepted; never rejected or stale annotations. Imported images,',
    'categories and annotations keep their COCO ids. An image that cannot be written (missing, unreadable,',
    'changed since the scan) is left out and named, and the exit status is 3.',
    ...exchangeExportDetails,
  ],
  options: {
    format: { type: 'string' },
    out: { type: 'string' },
    all: { type: 'boolean' },
    polygons: { type: 'boolean' },
    'polygons-strict': { type: 'boolean' },
    scores: { type: 'boolean' },
    ...exchangeExportOptions,
  },
  positionals: ['folder'],
  async run(args, io) {
    const format = stringValue(args, 'format');
    const out = stringValue(args, 'out');
    if (format === 'yolo' || format === 'voc' || format === 'labelme') return runExchangeExport(args, io, format);
    if (format !== 'coco') throw new UsageError(format ? `unknown format '${format}' (${EXPORT_FORMATS.join(', ')})` : `export needs --format ${EXPORT_FORMATS.join('|')}`);
    if (!out) throw new UsageError('export needs --out FILE');
    if (args.values['polygons-strict'] && !args.values.polygons) throw new UsageError('--polygons-strict goes with --polygons');
    // The app's export dialog starts from the same schema, so both have the same defaults.
    const options = cocoExportOptionsSchema.parse({
      ...(args.values.all ? { scope: 'all' } : {}),
      ...(args.values.polygons ? { segmentation: 'polygons' } : {}),
      ...(args.values['polygons-strict'] ? { polygonsStrict: true } : {}),
      ...(args.values.scores ? { scores: true } : {}),
      ...(args.values['include-pending'] ? { includePending: true } : {}),
    });
    const store = openStore(args, { mustExist: true });
    try {
      const result = await exportCocoFile(store, out, {
        scope: options.scope,
        polygons: options.segmentation === 'polygons',
        polygonsStrict: options.polygonsStrict,
        scores: options.scores,
        includePending: options.includePending,
      });
      io.out(summary(result, options.scope, options.polygonsStrict));
      return warn(args.positionals[0]!, result, io) ? EXIT_WARNINGS : undefined;
    } finally {
      store.close();
    }
  },
};

function summary(result: CocoExportResult, scope: 'reviewed' | 'all', strict: boolean): string {
  const lines = [`${result.path}: ${result.images} ${scope === 'all' ? 'images' : 'reviewed images'}, ${result.annotations} annotations`];
  if (result.pending > 0) lines.push(`  including ${result.pending} pending predictions (--include-pending)`);
  if (result.holes > 0) {
    lines.push(strict
      ? `  ${result.holes} masks with holes written as polygons, holes filled (--polygons-strict)`
      : `  ${result.holes} masks with holes written as RLE (polygons cannot hold a hole; --polygons-strict fills them)`);
  }
  return `${lines.join('\n')}\n`;
}

/** Prints the images left out and the stale annotations left out; true when there were any. */
function warn(folder: string, result: CocoExportResult, io: CliIo): boolean {
  const lines: string[] = [];
  const list = <T>(items: readonly T[], line: (item: T) => string) => {
    lines.push(...items.slice(0, MAX_LISTED).map((item) => `  ${line(item)}`));
    if (items.length > MAX_LISTED) lines.push(`  ... and ${items.length - MAX_LISTED} more`);
  };
  if (result.leftOut.length > 0) {
    lines.push(`loupe: ${folder}: warning: ${result.leftOut.length} images left out of the export:`);
    list(result.leftOut, (image) => `${image.path}: ${image.reason}`);
  }
  if (result.staleLeftOut.length > 0) {
    const count = result.staleLeftOut.reduce((n, image) => n + image.annotations, 0);
    lines.push(`loupe: ${folder}: warning: ${count} stale annotations left out (their file changed since; review the image again):`);
    list(result.staleLeftOut, (image) => `${image.path}: ${image.annotations}`);
  }
  if (lines.length > 0) io.err(`${lines.join('\n')}\n`);
  return lines.length > 0;
}
