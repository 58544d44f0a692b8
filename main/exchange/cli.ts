// `loupe import --format labelme|yolo` and `loupe export --format yolo|voc|labelme`: options, checks and what is
// printed. main/cli/commands/import.ts and export.ts hand these formats over here; COCO stays with them.
import { resolve } from 'node:path';
import { describeProblems, FormatError } from '../../app/formats/common.js';
import type { YoloTask } from '../../app/formats/yolo.js';
import { CliError, openStore, stringValue, UsageError, type CliIo, type OptionSpec, type ParsedArgs } from '../cli/command.js';
import type { ProjectStore } from '../store/index.js';
import { exportLabelme, importLabelme } from './labelme.js';
import type { ImagePlacement } from './output.js';
import { exportVoc } from './voc.js';
import { exportYolo, importYolo } from './yolo.js';

export const IMPORT_FORMATS = ['coco', 'labelme', 'yolo'] as const;
export const EXPORT_FORMATS = ['coco', 'yolo', 'voc', 'labelme'] as const;

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
  '--val-fraction F   yolo, voc: share of images for validation (default 0.2), chosen by a seeded hash of their paths',
  '--seed N           the split\'s seed (default 0): the same seed and images give the same split',
  '--task T           yolo: segment (polygons) or detect (boxes); default segment when any mask is exported',
  '--images HOW       yolo, voc: link (default; hard links, copies across file systems), copy or none',
  '--include-pending  also the model\'s predictions nobody has accepted or rejected',
];

export const exchangeImportDetails = [
  '--format labelme DIR|FILE  LabelMe JSON files (a folder is searched; they may sit beside the images)',
  '--format yolo DIR|FILE     a YOLO dataset: its data.yaml, or the folder holding it',
  '                           (an image not found by its path is matched by file name when only one has it)',
];

const MAX_NAMES = 10;
const names = (list: readonly string[]) => `${list.slice(0, MAX_NAMES).join(', ')}${list.length > MAX_NAMES ? ` and ${list.length - MAX_NAMES} more` : ''}`;
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .sort(([, a], [, b]) => b - a)
    .map(([type, n]) => `${n} ${type}`)
    .join(', ');

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
  const input = resolve(source);
  await withStore(args, source, async (store) => {
    const report = format === 'labelme' ? await importLabelme(store, input) : await importYolo(store, input);
    const created = report.newCategories.length > 0 ? `, new categories: ${report.newCategories.join(', ')}` : '';
    const duplicates = report.alreadyPresent > 0 ? `; ${report.alreadyPresent} already present, not added again` : '';
    io.out(`${source}: imported ${report.imported} annotations into ${report.images} images${created}${duplicates}\n`);
    if ('skippedShapes' in report) {
      if (Object.keys(report.skippedShapes).length > 0) io.err(`loupe: ${source}: shapes without an area, not imported: ${counts(report.skippedShapes)}\n`);
      if (report.notLabelme.length > 0) io.err(`loupe: ${source}: ${report.notLabelme.length} JSON files are not LabelMe files, left alone: ${names(report.notLabelme)}\n`);
      if (report.notInProject.length > 0) {
        const shapes = report.notInProject.reduce((n, f) => n + f.shapes, 0);
        io.err(`loupe: ${source}: ${shapes} shapes in ${report.notInProject.length} files whose image is not in the project were not imported: ${names(report.notInProject.map((f) => `${f.file} (${f.imagePath})`))}\n`);
      }
    } else {
      if (report.withoutLabels > 0) io.err(`loupe: ${source}: ${report.withoutLabels} of ${report.listed} images have no label file (no objects)\n`);
      if (report.notInProject.length > 0) {
        const objects = report.notInProject.reduce((n, f) => n + f.objects, 0);
        io.err(`loupe: ${source}: ${objects} objects of ${report.notInProject.length} images not in the project were not imported: ${names(report.notInProject.map((f) => f.file))}\n`);
      }
    }
  });
}

function numberOption(args: ParsedArgs, name: string, check: (n: number) => boolean, what: string): number | undefined {
  const text = stringValue(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) throw new UsageError(`--${name} must be ${what}, got '${text}'`);
  return value;
}

export async function runExchangeExport(args: ParsedArgs, io: CliIo, format: 'yolo' | 'voc' | 'labelme'): Promise<void> {
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
  if (images !== undefined && !['link', 'copy', 'none'].includes(images)) throw new UsageError(`--images must be link, copy or none, got '${images}'`);
  for (const [name, only] of [['task', 'yolo'], ['val-fraction', 'yolo and voc'], ['seed', 'yolo and voc'], ['images', 'yolo and voc']] as const) {
    if (args.values[name] !== undefined && !only.includes(format)) throw new UsageError(`--${name} is for ${only} only`);
  }
  if (beside && format !== 'labelme') throw new UsageError('--beside-images is for labelme only');

  const selection = { all: args.values.all === true, includePending: args.values['include-pending'] === true };
  const which = selection.all ? 'images' : 'reviewed images';
  const split = { ...(valFraction === undefined ? {} : { valFraction }), ...(seed === undefined ? {} : { seed }) };
  const placement = images as ImagePlacement | 'none' | undefined;
  await withStore(args, out ?? args.positionals[0]!, async (store) => {
    const warn = (text: string) => io.err(`loupe: ${out ?? store.folder}: ${text}\n`);
    let leftOut: { path: string; reason: string }[];
    let pendingLeftOut: number;
    if (format === 'labelme') {
      const report = await exportLabelme(store, { ...selection, ...(out ? { out } : {}) });
      io.out(`${report.where}: ${report.images} ${which}, ${report.annotations} annotations as LabelMe files${out ? '' : ' beside the images'}\n`);
      if (report.withHoles > 0) warn(`${report.withHoles} masks have holes, which LabelMe polygons fill`);
      ({ leftOut, pendingLeftOut } = report);
    } else if (format === 'yolo') {
      const report = await exportYolo(store, out!, { ...selection, ...split, ...(task ? { task: task as YoloTask } : {}), ...(placement ? { images: placement } : {}) });
      io.out(`${report.out}: ${report.train + report.val} ${which} (${report.train} train, ${report.val} val), ${report.objects} objects, YOLO ${report.task}\n`);
      if (report.withHoles > 0) warn(`${report.withHoles} masks have holes, which YOLO polygons fill`);
      if (report.joined > 0) warn(`${report.joined} masks of several parts were joined into one polygon each`);
      if (report.boxesAsPolygons > 0) warn(`${report.boxesAsPolygons} boxes without a mask were written as 4-corner polygons`);
      if (report.crowdLeftOut > 0) warn(`${report.crowdLeftOut} crowd regions were left out (YOLO has none)`);
      ({ leftOut, pendingLeftOut } = report);
    } else {
      const report = await exportVoc(store, out!, { ...selection, ...split, ...(placement ? { images: placement } : {}) });
      io.out(`${report.out}: ${report.images} ${which} (${report.train} train, ${report.val} val; ${report.segmented} with masks), ${report.objects} objects, Pascal VOC\n`);
      if (report.overlapPixels > 0) warn(`${report.overlapPixels} pixels where masks overlap were given to the smaller object`);
      if (report.crowd > 0) warn(`${report.crowd} crowd regions were written as difficult objects with void (255) pixels`);
      if (report.rotated.length > 0) warn(`${report.rotated.length} images carry an EXIF orientation: JPEGImages holds them as stored, the annotations are for the image as displayed: ${names(report.rotated)}`);
      ({ leftOut, pendingLeftOut } = report);
    }
    if (pendingLeftOut > 0) warn(`${pendingLeftOut} pending predictions were left out (--include-pending writes them)`);
    if (leftOut.length > 0) warn(`${leftOut.length} images were left out: ${names(leftOut.map((l) => `${l.path} (${l.reason})`))}`);
  });
}
