// `loupe import --format labelme|yolo` and `loupe export --format yolo|voc|labelme`: options and their checks, and
// the lines main/exchange/service.ts has to say printed. main/cli/commands/import.ts and export.ts hand these formats
// over here; COCO stays with them.
import { describeProblems, FormatError } from '../../app/formats/common.js';
import { DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION } from '../../app/ipc/contract.js';
import { CliError, EXIT_WARNINGS, openStore, stringValue, UsageError, type CliIo, type OptionSpec, type ParsedArgs } from '../cli/command.js';
import type { ProjectStore } from '../store/index.js';
import { exportDataset, exportWarnings, importAnnotations, importSummary, type DatasetExportRequest } from './service.js';

export { EXPORT_FORMATS, IMPORT_FORMATS } from '../../app/ipc/contract.js';

/** The export options these formats add to `loupe export`. */
export const exchangeExportOptions: OptionSpec = {
  'val-fraction': { type: 'string' },
  seed: { type: 'string' },
  task: { type: 'string' },
  images: { type: 'string' },
  'include-pending': { type: 'boolean' },
  'beside-images': { type: 'boolean' },
};

export const exchangeExportDetails = [
  '--format yolo|voc  a new folder (--out DIR) holding a dataset: yolo writes data.yaml, images/ and labels/',
  '                   split into train and val; voc writes Annotations/, SegmentationObject/, SegmentationClass/,',
  '                   JPEGImages/ and ImageSets/',
  '--format labelme   one LabelMe JSON per image, into a new folder (--out DIR) or --beside-images (replacing',
  '                   the LabelMe files there)',
  `--val-fraction F   yolo, voc: share of images for validation (default ${DEFAULT_VAL_FRACTION}), chosen by a seeded hash of their paths`,
  `--seed N           the split's seed (default ${DEFAULT_SPLIT_SEED}): the same seed and images give the same split`,
  '--task T           yolo: segment (polygons) or detect (boxes); default segment when any mask is exported',
  '--images HOW       yolo, voc: link (default; hard links, copies across file systems), copy or none',
  '--include-pending  also the model\'s predictions nobody has accepted or rejected',
];

export const exchangeImportDetails = [
  '--format labelme DIR|FILE  LabelMe JSON files (a folder is searched; they may sit beside the images)',
  '--format yolo DIR|FILE     a YOLO dataset: its data.yaml, or the folder holding it',
  '                           (an image not found by its path is matched by file name when only one has it)',
];

/** Runs `fn` on the project, turning a FormatError into one line naming `file`. */
async function withStore<T>(args: ParsedArgs, file: string, fn: (store: ProjectStore) => Promise<T>): Promise<T> {
  const store = openStore(args, { mustExist: true });
  try {
    return await fn(store);
  } catch (error) {
    if (error instanceof FormatError) throw new CliError(file, describeProblems(error.problems));
    throw error;
  } finally {
    store.close();
  }
}

export async function runExchangeImport(args: ParsedArgs, io: CliIo, format: 'labelme' | 'yolo', source: string | undefined): Promise<void> {
  if (!source) throw new UsageError(`import --format ${format} needs the ${format === 'yolo' ? 'data.yaml or its folder' : 'LabelMe file or folder'}`);
  if (stringValue(args, 'coco')) throw new UsageError('--coco names a COCO file; with --format labelme or yolo, give the file or folder after it');
  await withStore(args, source, async (store) => {
    const outcome = await importAnnotations(store, format, source);
    io.out(`${importSummary(source, outcome)}\n`);
    for (const note of outcome.notes) io.err(`loupe: ${source}: ${note}\n`);
  });
}

function numberOption(args: ParsedArgs, name: string, check: (n: number) => boolean, what: string): number | undefined {
  const text = stringValue(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) throw new UsageError(`--${name} must be ${what}, got '${text}'`);
  return value;
}

export async function runExchangeExport(args: ParsedArgs, io: CliIo, format: 'yolo' | 'voc' | 'labelme'): Promise<number | undefined> {
  const out = stringValue(args, 'out');
  const beside = args.values['beside-images'] === true;
  if (format === 'labelme' && out && beside) throw new UsageError('give --out DIR or --beside-images, not both');
  if (!out && !(format === 'labelme' && beside)) throw new UsageError(format === 'labelme' ? 'export --format labelme needs --out DIR or --beside-images' : `export --format ${format} needs --out DIR`);
  if (args.values.polygons || args.values.scores) throw new UsageError(`--polygons and --scores are COCO options; ${format} has its own form`);
  const valFraction = numberOption(args, 'val-fraction', (n) => n >= 0 && n <= 1, 'a number from 0 to 1');
  const seed = numberOption(args, 'seed', Number.isSafeInteger, 'an integer');
  const task = stringValue(args, 'task');
  if (task !== undefined && task !== 'segment' && task !== 'detect') throw new UsageError(`--task must be segment or detect, got '${task}'`);
  const images = stringValue(args, 'images');
  if (images !== undefined && images !== 'link' && images !== 'copy' && images !== 'none') throw new UsageError(`--images must be link, copy or none, got '${images}'`);
  for (const [name, only] of [['task', 'yolo'], ['val-fraction', 'yolo and voc'], ['seed', 'yolo and voc'], ['images', 'yolo and voc']] as const) {
    if (args.values[name] !== undefined && !only.includes(format)) throw new UsageError(`--${name} is for ${only} only`);
  }
  if (beside && format !== 'labelme') throw new UsageError('--beside-images is for labelme only');

  const options: DatasetExportRequest = {
    scope: args.values.all === true ? 'all' : 'reviewed',
    includePending: args.values['include-pending'] === true,
    besideImages: beside,
    ...(valFraction === undefined ? {} : { valFraction }),
    ...(seed === undefined ? {} : { seed }),
    ...(task === undefined ? {} : { task }),
    ...(images === undefined ? {} : { images }),
  };
  return withStore(args, out ?? args.positionals[0]!, async (store) => {
    const result = await exportDataset(store, format, out ?? null, options);
    io.out(`${result.summary}\n`);
    const warnings = exportWarnings(result);
    for (const line of [...result.notes, ...warnings]) io.err(`loupe: ${out ?? store.folder}: ${line}\n`);
    // Images or annotations that could not be written make the exit status say so, as a COCO export's does.
    return result.leftOut.length + result.staleLeftOut.length > 0 ? EXIT_WARNINGS : undefined;
  });
}
