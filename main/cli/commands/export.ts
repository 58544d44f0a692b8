import { EXPORT_FORMATS, exchangeExportDetails, exchangeExportOptions, runExchangeExport } from '../../exchange/cli.js';
import { exportCocoFile } from '../../fs/cocoFiles.js';
import { openStore, stringValue, UsageError, type Command } from '../command.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the reviewed annotations as COCO, YOLO, Pascal VOC or LabelMe',
  usage: '<folder> --format coco|yolo|voc|labelme [--polygons] [--all] [--scores] --out FILE|DIR [--db FILE]',
  details: [
    '--format coco  one COCO JSON file',
    '--polygons     masks as polygons instead of RLE (holes are filled)',
    '--all          every image, not only the reviewed ones',
    '--scores       keep the model score on predictions',
    '--out FILE     written atomically: a temporary file beside it, renamed when complete',
    ...exchangeExportDetails,
    'Rejected annotations are never exported.',
  ],
  options: {
    format: { type: 'string' },
    polygons: { type: 'boolean' },
    all: { type: 'boolean' },
    scores: { type: 'boolean' },
    out: { type: 'string' },
    ...exchangeExportOptions,
  },
  positionals: ['folder'],
  async run(args, io) {
    const format = stringValue(args, 'format');
    const out = stringValue(args, 'out');
    if (format === 'yolo' || format === 'voc' || format === 'labelme') return runExchangeExport(args, io, format);
    if (format !== 'coco') throw new UsageError(format ? `unknown format '${format}' (${EXPORT_FORMATS.join(', ')})` : `export needs --format ${EXPORT_FORMATS.join('|')}`);
    if (!out) throw new UsageError('export needs --out FILE');
    const store = openStore(args, { mustExist: true });
    try {
      const result = await exportCocoFile(store, out, {
        all: args.values.all === true,
        polygons: args.values.polygons === true,
        scores: args.values.scores === true,
      });
      const which = args.values.all ? 'images' : 'reviewed images';
      io.out(`${result.path}: ${result.images} ${which}, ${result.annotations} annotations\n`);
    } finally {
      store.close();
    }
  },
};
