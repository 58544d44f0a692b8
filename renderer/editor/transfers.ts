// The Export and Import dialogs as plain data: what the person has chosen, whether main is at work, and what it
// reported, with the words the dialog and the status bar show. Headless; the session owns one of each.
import type { CocoExportOptions, DatasetExportOptions, Res } from '../../app/ipc/contract.js';
import {
  COCO_EXPORT_DEFAULTS, DATASET_EXPORT_DEFAULTS,
  type ExportFormat, type ImportFormat,
} from '../../app/ipc/exchange-options.js';

/** COCO's choices: export.coco's request without a path (the export folder is main's to decide). */
export type CocoChoices = CocoExportOptions;
/** YOLO, VOC and LabelMe's choices: export.dataset's request without its format. */
export type DatasetChoices = DatasetExportOptions;

export interface ExportChoices {
  readonly format: ExportFormat;
  readonly coco: CocoChoices;
  readonly dataset: DatasetChoices;
}

/** What the dialog starts with: COCO, with `loupe export`'s defaults for every format. */
export function defaultExportChoices(): ExportChoices {
  return { format: 'coco', coco: { ...COCO_EXPORT_DEFAULTS }, dataset: { ...DATASET_EXPORT_DEFAULTS } };
}

export type ExportReport = (Res<'export.coco'> & { readonly format: 'coco' }) | Res<'export.dataset'>;
export type ImportReport = Res<'import.annotations'>;

export interface ExportDialogState {
  readonly choices: ExportChoices;
  /** Main is writing the export. */
  readonly busy: boolean;
  readonly report: ExportReport | null;
  /** Why the export was refused (nothing written). */
  readonly error: string | null;
}

export interface ImportDialogState {
  readonly format: ImportFormat;
  /** Main's dialog is open, or the import is being read and written. */
  readonly busy: boolean;
  readonly report: ImportReport | null;
  readonly error: string | null;
}

export const FORMAT_LABELS: Readonly<Record<ExportFormat, string>> = { coco: 'COCO', yolo: 'YOLO', voc: 'Pascal VOC', labelme: 'LabelMe' };

/** What an export wrote, in words: one line, then one per thing to know (left out, holes, the format's notes). */
export function describeExport(report: ExportReport): { summary: string; details: string[] } {
  const objects = report.format === 'coco' ? 'annotations' : 'objects';
  const summary = `Exported ${report.images} images, ${report.annotations} ${objects} as ${FORMAT_LABELS[report.format]} to ${report.path}`;
  const details: string[] = [];
  if (report.format === 'coco') {
    if (report.pending > 0) details.push(`${report.pending} pending predictions written (include pending)`);
    if (report.holes > 0) details.push(`${report.holes} masks with holes (kept as RLE, or filled with strict polygons)`);
  } else {
    details.push(...report.notes);
    if (report.pendingLeftOut > 0) details.push(`${report.pendingLeftOut} pending predictions left out (include pending writes them)`);
  }
  if (report.leftOut.length > 0) {
    details.push(`${report.leftOut.length} images left out: ${report.leftOut.map((l) => `${l.path} (${l.reason})`).join('; ')}`);
  }
  if (report.staleLeftOut.length > 0) {
    const count = report.staleLeftOut.reduce((n, s) => n + s.annotations, 0);
    details.push(`${count} stale annotations left out (their file changed; review the image again): ${report.staleLeftOut.map((s) => s.path).join(', ')}`);
  }
  return { summary, details };
}

/** What an import added, in words: one line, then the notes or the problems that refused it. */
export function describeImport(report: ImportReport): { summary: string; details: string[] } {
  if (report.source === null) return { summary: 'Nothing imported (no file chosen).', details: [] };
  if (report.problems.length > 0) {
    return { summary: `Nothing imported from ${report.source}: ${report.problems.length === 1 ? 'a problem' : 'problems'} to fix first`, details: report.problems };
  }
  const created = report.newCategories.length > 0 ? `; new classes: ${report.newCategories.join(', ')}` : '';
  const skipped = report.alreadyPresent > 0 ? `; ${report.alreadyPresent} already present, skipped` : '';
  return { summary: `Added ${report.imported} annotations to ${report.images} images from ${report.source}${created}${skipped}`, details: report.notes };
}
