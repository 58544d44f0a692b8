import { exchangeImportDetails, IMPORT_FORMATS, runExchangeImport } from '../../exchange/cli.js';
import { importAnnotations, importSummary } from '../../exchange/service.js';
import { openStore, stringValue, UsageError, type Command } from '../command.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'add the annotations of a COCO file, LabelMe files or a YOLO dataset to a scanned folder',
  usage: '<folder> (--coco FILE | --format coco|labelme|yolo FILE|DIR) [--db FILE]',
  details: [
    '--coco FILE  COCO instances JSON; segmentation as polygons, plain or compressed RLE',
    ...exchangeImportDetails,
    'Images are matched by file_name (path relative to the folder), categories by name (new ones are created).',
    'The whole file is checked first: on any problem nothing is written, and every problem is listed (up to 20).',
    'With a mask, an annotation\'s box is the mask\'s; COCO ids, info and licenses are kept for export.',
  ],
  options: { coco: { type: 'string' }, format: { type: 'string' } },
  positionals: ['folder', 'source?'],
  async run(args, io) {
    const format = stringValue(args, 'format');
    if (format !== undefined && !(IMPORT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`unknown format '${format}' (${IMPORT_FORMATS.join(', ')})`);
    }
    if (format === 'labelme' || format === 'yolo') return runExchangeImport(args, io, format, args.positionals[1]);
    const coco = stringValue(args, 'coco') ?? (format === 'coco' ? args.positionals[1] : undefined);
    if (!coco) throw new UsageError('import needs --coco FILE');
    const store = openStore(args, { mustExist: true });
    try {
      const outcome = await importAnnotations(store, 'coco', coco);
      io.out(`${importSummary(coco, outcome)}\n`);
      for (const note of outcome.notes) io.err(`loupe: ${coco}: ${note}\n`);
    } finally {
      store.close();
    }
  },
};
