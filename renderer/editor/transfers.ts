// The Export, Import and Import Model dialogs as plain data: what the person has chosen, whether main is at work,
// and what it reported, with the words the dialog and the status bar show. Headless; the session owns one of each.
// Files are never named here: main's dialogs choose them and hand back handles (GrantedPath).
import type { CocoExportOptions, DatasetExportOptions, FilePurpose, GrantedPath, Req, Res } from '../../app/ipc/contract.js';
import {
  COCO_EXPORT_DEFAULTS, DATASET_EXPORT_DEFAULTS,
  type ExportFormat, type ImportFormat,
} from '../../app/ipc/exchange-options.js';
import type { ModelFormat } from '../../app/model/index.js';

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
  /** COCO: the file main's save dialog chose; null writes into the project's export folder. */
  readonly file: GrantedPath | null;
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

/** How a model is described: by its own Loupe card, by a form the person fills in, or by an X-AnyLabeling YAML. */
export type ModelImportKind = 'card' | 'form' | 'xanylabeling';
/** The files an import may need, each chosen in main's dialog. */
export type ModelFile = 'onnx' | 'card' | 'yaml';
export const MODEL_FILE_PURPOSE: Readonly<Record<ModelFile, FilePurpose>> = { onnx: 'model-onnx', card: 'model-card', yaml: 'model-yaml' };
/** Which files each kind needs. */
export const MODEL_FILES: Readonly<Record<ModelImportKind, readonly ModelFile[]>> = { card: ['onnx', 'card'], form: ['onnx'], xanylabeling: ['yaml'] };

export interface ModelImportChoices {
  readonly kind: ModelImportKind;
  readonly files: Readonly<Partial<Record<ModelFile, GrantedPath>>>;
  /** The form's fields (kind 'form'). */
  readonly name: string;
  readonly format: ModelFormat;
  /** Class names in the model's output order, one per line or separated by commas. */
  readonly labels: string;
  /** Into the user's model folder, or the open project's. */
  readonly target: 'user' | 'project';
}

export interface ModelImportDialogState {
  readonly choices: ModelImportChoices;
  /** Main's dialog is open, or the model is being checked and copied. */
  readonly busy: boolean;
  readonly report: Res<'models.import'> | null;
  readonly error: string | null;
}

export function defaultModelImportChoices(): ModelImportChoices {
  return { kind: 'card', files: {}, name: '', format: 'torchvision-maskrcnn', labels: '', target: 'user' };
}

/** The class names of the form's text: one per line or separated by commas, blanks dropped. */
export function labelsOf(text: string): string[] {
  return text.split(/[\n,]/).map((label) => label.trim()).filter((label) => label !== '');
}

/** The models.import request the choices make, or what is still missing, in words. */
export function modelImportRequest(choices: ModelImportChoices): Req<'models.import'> | { readonly missing: string } {
  const { files, target } = choices;
  const lacking = MODEL_FILES[choices.kind].filter((file) => files[file] === undefined);
  if (lacking.length > 0) return { missing: `choose the ${lacking.map((file) => FILE_WORDS[file]).join(' and the ')} first` };
  switch (choices.kind) {
    case 'card':
      return { kind: 'card', onnx: files.onnx!.handle, card: files.card!.handle, target };
    case 'form':
      return { kind: 'form', onnx: files.onnx!.handle, form: { name: choices.name, format: choices.format, labels: labelsOf(choices.labels) }, target };
    case 'xanylabeling':
      return { kind: 'xanylabeling', yaml: files.yaml!.handle, target };
  }
}

const FILE_WORDS: Readonly<Record<ModelFile, string>> = { onnx: '.onnx file', card: 'card', yaml: 'YAML' };

/** What an import installed, in words: one line, then what the YAML held that Loupe does not use. */
export function describeModelImport(report: Res<'models.import'>): { summary: string; details: string[] } {
  const { model } = report;
  const where = model.source === 'project' ? 'this project\'s models' : 'your models';
  const summary = `Imported ${model.name} (${model.classes.length} classes: ${model.classes.join(', ')}) into ${where}`;
  return { summary, details: report.ignored.map((field) => `Not used: ${field}`) };
}
