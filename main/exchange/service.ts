// Importing annotations and exporting datasets as `loupe import/export --format` and the app's Import and Export
// dialogs both do them: the format modules called with the options, and what there is to say about the result in
// one place (the CLI prints these lines, the app shows them).
import { resolve } from 'node:path';
import { DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION, type DatasetExportFormat, type DatasetExportOptions, type ImportFormat } from '../../app/ipc/contract.js';
import { importCocoFile } from '../fs/cocoFiles.js';
import type { LeftOut, ProjectStore } from '../store/index.js';
import type { WrittenImport } from './imports.js';
import { exportLabelme, importLabelme } from './labelme.js';
import { exportVoc } from './voc.js';
import { exportYolo, importYolo } from './yolo.js';

const MAX_NAMES = 10;
/** The first names of a list, then how many more. */
export const names = (list: readonly string[]) =>
  `${list.slice(0, MAX_NAMES).join(', ')}${list.length > MAX_NAMES ? ` and ${list.length - MAX_NAMES} more` : ''}`;
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .sort(([, a], [, b]) => b - a)
    .map(([type, n]) => `${n} ${type}`)
    .join(', ');

export interface ImportOutcome extends WrittenImport {
  /** What was read but not imported, or changed on the way, one sentence each. */
  readonly notes: string[];
}

/**
 * Imports a COCO file, LabelMe files (a file or a folder) or a YOLO dataset (its data.yaml or the folder holding it)
 * as people's accepted annotations. The whole input is checked first: a problem throws (FormatError listing every
 * problem, or FileError) and nothing is written.
 */
export async function importAnnotations(store: ProjectStore, format: ImportFormat, source: string): Promise<ImportOutcome> {
  const input = resolve(source);
  if (format === 'coco') {
    const report = await importCocoFile(store, input);
    const notes: string[] = [];
    if (report.notInProject.length > 0) {
      const count = report.notInProject.reduce((n, i) => n + i.annotations, 0);
      notes.push(`${count} annotations for ${report.notInProject.length} images not in the project were not imported: ${names(report.notInProject.map((i) => i.fileName))}`);
    }
    if (report.bboxFromMask > 0) notes.push(`warning: ${report.bboxFromMask} annotations have a bbox more than 1 px from their mask's; the mask's box is used`);
    return { imported: report.imported, images: report.images, newCategories: report.newCategories, alreadyPresent: report.alreadyPresent, notes };
  }
  if (format === 'labelme') {
    const { files: _files, skippedShapes, notLabelme, notInProject, ...written } = await importLabelme(store, input);
    const notes: string[] = [];
    if (Object.keys(skippedShapes).length > 0) notes.push(`shapes without an area, not imported: ${counts(skippedShapes)}`);
    if (notLabelme.length > 0) notes.push(`${notLabelme.length} JSON files are not LabelMe files, left alone: ${names(notLabelme)}`);
    if (notInProject.length > 0) {
      const shapes = notInProject.reduce((n, f) => n + f.shapes, 0);
      notes.push(`${shapes} shapes in ${notInProject.length} files whose image is not in the project were not imported: ${names(notInProject.map((f) => `${f.file} (${f.imagePath})`))}`);
    }
    return { ...written, notes };
  }
  const { listed, withoutLabels, notInProject, ...written } = await importYolo(store, input);
  const notes: string[] = [];
  if (withoutLabels > 0) notes.push(`${withoutLabels} of ${listed} images have no label file (no objects)`);
  if (notInProject.length > 0) {
    const objects = notInProject.reduce((n, f) => n + f.objects, 0);
    notes.push(`${objects} objects of ${notInProject.length} images not in the project were not imported: ${names(notInProject.map((f) => f.file))}`);
  }
  return { ...written, notes };
}

/** The one line that says what an import did. */
export function importSummary(source: string, outcome: WrittenImport): string {
  const created = outcome.newCategories.length > 0 ? `, new categories: ${outcome.newCategories.join(', ')}` : '';
  const duplicates = outcome.alreadyPresent > 0 ? `; ${outcome.alreadyPresent} already present, not added again` : '';
  return `${source}: imported ${outcome.imported} annotations into ${outcome.images} images${created}${duplicates}`;
}

/** Options of a YOLO, VOC or LabelMe export: the contract's, any of them left to its default. */
export type DatasetExportRequest = Partial<DatasetExportOptions>;

export interface DatasetExport {
  readonly format: DatasetExportFormat;
  /** The folder written; the project folder for LabelMe files beside the images. */
  readonly path: string;
  readonly images: number;
  /** Objects written. */
  readonly annotations: number;
  readonly pendingLeftOut: number;
  readonly leftOut: LeftOut[];
  readonly staleLeftOut: { readonly path: string; readonly annotations: number }[];
  /** The one line that says what was written. */
  readonly summary: string;
  /** What the format could not hold or did on the way, one sentence each. */
  readonly notes: string[];
}

/**
 * Writes the reviewed truth (main/store/truth.ts, as the COCO export selects it) as a YOLO or VOC dataset in the new
 * folder `out`, or as LabelMe files into `out` or (besideImages, `out` null) beside each image.
 */
export async function exportDataset(store: ProjectStore, format: DatasetExportFormat, out: string | null, options: DatasetExportRequest = {}): Promise<DatasetExport> {
  const selection = { all: options.scope === 'all', includePending: options.includePending ?? false };
  const which = selection.all ? 'images' : 'reviewed images';
  const split = { valFraction: options.valFraction ?? DEFAULT_VAL_FRACTION, seed: options.seed ?? DEFAULT_SPLIT_SEED };
  const images = options.images ?? 'link';
  const notes: string[] = [];
  if (format === 'labelme') {
    if ((out === null) !== (options.besideImages ?? false)) throw new Error('a LabelMe export goes into a new folder or beside the images: one of the two');
    const report = await exportLabelme(store, { ...selection, ...(out !== null ? { out } : {}) });
    if (report.withHoles > 0) notes.push(`${report.withHoles} masks have holes, which LabelMe polygons fill`);
    return {
      format, path: report.where, images: report.images, annotations: report.annotations, pendingLeftOut: report.pendingLeftOut,
      leftOut: report.leftOut, staleLeftOut: report.staleLeftOut, notes,
      summary: `${report.where}: ${report.images} ${which}, ${report.annotations} annotations as LabelMe files${out !== null ? '' : ' beside the images'}`,
    };
  }
  if (out === null) throw new Error(`a ${format} export needs a new folder to write`);
  if (format === 'yolo') {
    const task = options.task === 'segment' || options.task === 'detect' ? { task: options.task } : {};
    const report = await exportYolo(store, out, { ...selection, ...split, ...task, images });
    if (report.withHoles > 0) notes.push(`${report.withHoles} masks have holes, which YOLO polygons fill`);
    if (report.joined > 0) notes.push(`${report.joined} masks of several parts were joined into one polygon each`);
    if (report.boxesAsPolygons > 0) notes.push(`${report.boxesAsPolygons} boxes without a mask were written as 4-corner polygons`);
    if (report.crowdLeftOut > 0) notes.push(`${report.crowdLeftOut} crowd regions were left out (YOLO has none)`);
    return {
      format, path: report.out, images: report.train + report.val, annotations: report.objects, pendingLeftOut: report.pendingLeftOut,
      leftOut: report.leftOut, staleLeftOut: report.staleLeftOut, notes,
      summary: `${report.out}: ${report.train + report.val} ${which} (${report.train} train, ${report.val} val), ${report.objects} objects, YOLO ${report.task}`,
    };
  }
  const report = await exportVoc(store, out, { ...selection, ...split, images });
  if (report.overlapPixels > 0) notes.push(`${report.overlapPixels} pixels where masks overlap were given to the smaller object`);
  if (report.crowd > 0) notes.push(`${report.crowd} crowd regions were written as difficult objects with void (255) pixels`);
  if (report.rotated.length > 0) {
    notes.push(`${report.rotated.length} images carry an EXIF orientation: JPEGImages holds them as stored, the annotations are for the image as displayed: ${names(report.rotated)}`);
  }
  return {
    format, path: report.out, images: report.images, annotations: report.objects, pendingLeftOut: report.pendingLeftOut,
    leftOut: report.leftOut, staleLeftOut: report.staleLeftOut, notes,
    summary: `${report.out}: ${report.images} ${which} (${report.train} train, ${report.val} val; ${report.segmented} with masks), ${report.objects} objects, Pascal VOC`,
  };
}

/** The warnings every export shares: pending predictions, images and stale annotations left out. */
export function exportWarnings(result: Pick<DatasetExport, 'pendingLeftOut' | 'leftOut' | 'staleLeftOut'>): string[] {
  const warnings: string[] = [];
  if (result.pendingLeftOut > 0) warnings.push(`${result.pendingLeftOut} pending predictions were left out (--include-pending writes them)`);
  if (result.leftOut.length > 0) warnings.push(`${result.leftOut.length} images were left out: ${names(result.leftOut.map((l) => `${l.path} (${l.reason})`))}`);
  if (result.staleLeftOut.length > 0) {
    const count = result.staleLeftOut.reduce((n, image) => n + image.annotations, 0);
    warnings.push(`${count} stale annotations were left out (their file changed since; review the image again): ${names(result.staleLeftOut.map((s) => s.path))}`);
  }
  return warnings;
}
