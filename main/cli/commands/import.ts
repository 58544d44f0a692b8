import { resolve } from 'node:path';
import { exchangeImportDetails, IMPORT_FORMATS, runExchangeImport } from '../../exchange/cli.js';
import { importCocoFile } from '../../fs/cocoFiles.js';
import { openStore, stringValue, UsageError, type Command } from '../command.js';

const MAX_NAMES = 10;

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
      const report = await importCocoFile(store, resolve(coco));
      const created = report.newCategories.length > 0 ? `, new categories: ${report.newCategories.join(', ')}` : '';
      const duplicates = report.alreadyPresent > 0 ? `; ${report.alreadyPresent} already present, not added again` : '';
      io.out(`${coco}: imported ${report.imported} annotations into ${report.images} images${created}${duplicates}\n`);
      if (report.notInProject.length > 0) {
        const count = report.notInProject.reduce((n, i) => n + i.annotations, 0);
        const names = report.notInProject.slice(0, MAX_NAMES).map((i) => i.fileName);
        const more = report.notInProject.length > MAX_NAMES ? ` and ${report.notInProject.length - MAX_NAMES} more` : '';
        io.err(
          `loupe: ${coco}: ${count} annotations for ${report.notInProject.length} images not in the project were not imported: ` +
            `${names.join(', ')}${more}\n`,
        );
      }
      if (report.bboxFromMask > 0) {
        io.err(`loupe: ${coco}: warning: ${report.bboxFromMask} annotations have a bbox more than 1 px from their mask's; the mask's box is used\n`);
      }
    } finally {
      store.close();
    }
  },
};
