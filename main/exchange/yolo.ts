// YOLO (Ultralytics) datasets in and out of a project: the files read and written here, the format itself in
// app/formats/yolo.ts.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FormatError, Problems, validationSplit, withoutExtension } from '../../app/formats/common.js';
import { buildDataYaml, buildYoloLabels, labelPathOf, readDataYaml, readYoloLabels, type YoloTask } from '../../app/formats/yolo.js';
import { DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION } from '../../app/ipc/contract.js';
import { FileError } from '../fs/fileError.js';
import { findImageFiles, isImageFileName } from '../fs/imageFiles.js';
import type { ProjectStore } from '../store/index.js';
import { checkMatchedImage, insideFolder, ProjectImages, writeImport, type PlannedImage, type WrittenImport } from './imports.js';
import { writeDatasetFolder, type ImagePlacement, type OutputFile } from './output.js';
import { selectForExport, type SelectionOptions } from './selection.js';
import { NotUtf8Error, readUtf8 } from './text.js';

const posix = (path: string) => path.split(sep).join('/');
const exists = async (path: string) => (await stat(path).catch(() => null)) !== null;

/** The data.yaml of a dataset: the file given, or data.yaml (else the only *.yaml) in the folder given. */
async function findDataYaml(input: string): Promise<string> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new FileError(input, 'no such file or folder');
  if (!info.isDirectory()) return input;
  const yamls = (await readdir(input)).filter((name) => /\.ya?ml$/i.test(name)).sort();
  const chosen = yamls.find((name) => /^data\.ya?ml$/i.test(name)) ?? (yamls.length === 1 ? yamls[0] : undefined);
  if (chosen === undefined) {
    throw new FileError(input, yamls.length === 0 ? 'holds no data.yaml' : `holds no data.yaml, and several YAML files: ${yamls.join(', ')}`);
  }
  return join(input, chosen);
}

export interface YoloImportReport extends WrittenImport {
  /** Images the dataset lists. */
  readonly listed: number;
  /** Listed images without a label file (background images, or labels missing). */
  readonly withoutLabels: number;
  /** Dataset images that are not in the project, with how many objects their labels hold. */
  readonly notInProject: { readonly file: string; readonly objects: number }[];
}

/**
 * Imports a YOLO dataset (its data.yaml, or the folder holding it): every image of its train, val and test
 * splits (folders, or text files listing images), with the labels Ultralytics would find for it. Images are
 * matched by their path relative to the project folder, else relative to the dataset root, else by file name
 * when only one project image has it. Everything is checked before anything is written.
 */
export async function importYolo(store: ProjectStore, input: string): Promise<YoloImportReport> {
  const yamlPath = await findDataYaml(input);
  const yamlFolder = dirname(yamlPath);
  const yamlName = basename(yamlPath);
  const problems = new Problems();
  let text: string;
  try {
    text = await readUtf8(yamlPath);
  } catch (error) {
    throw new FileError(yamlPath, error instanceof NotUtf8Error ? error.message : `cannot read: ${(error as Error).message}`);
  }
  const data = readDataYaml(text, yamlName, problems);
  if (data === null) throw new FormatError(problems.list);

  // Ultralytics reads a relative `path` against its datasets folder; a dataset moved elsewhere is found from the
  // YAML's folder (or the current one) as well.
  const entries = [...data.splits.values()].flat();
  const roots = data.path === null ? [yamlFolder] : isAbsolute(data.path) ? [data.path, yamlFolder] : [resolve(yamlFolder, data.path), resolve(data.path), yamlFolder];
  let root = roots[0]!;
  for (const candidate of roots) {
    if ((await Promise.all(entries.map((e) => exists(resolve(candidate, e))))).every(Boolean)) {
      root = candidate;
      break;
    }
  }

  const listed = new Map<string, string>(); // absolute image path -> the split folder it was listed under
  for (const [split, splitEntries] of data.splits) {
    for (const entry of splitEntries) {
      const path = resolve(root, entry);
      const info = await stat(path).catch(() => null);
      if (!info) {
        problems.add(`${yamlName}: ${split}`, `${entry} does not exist (under ${root})`);
      } else if (info.isDirectory()) {
        for (const found of await findImageFiles(path)) if (!listed.has(found.absolutePath)) listed.set(found.absolutePath, path);
      } else if (isImageFileName(path)) {
        listed.set(path, dirname(path));
      } else {
        const lines = (await readUtf8(path).catch((error: Error) => (problems.add(`${yamlName}: ${split}`, `${entry} ${error.message}`), '')))
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter(Boolean);
        for (const line of lines) {
          const image = line.startsWith('./') ? resolve(dirname(path), line) : resolve(root, line);
          if (!listed.has(image)) listed.set(image, dirname(image));
        }
      }
    }
  }

  const images = new ProjectImages(store);
  const planned: PlannedImage[] = [];
  const notInProject: { file: string; objects: number }[] = [];
  let withoutLabels = 0;
  for (const [imagePath, splitFolder] of [...listed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const labelPath = labelPathOf(posix(imagePath));
    const where = posix(relative(root, labelPath));
    const labels = await readUtf8(labelPath).catch((error: NodeJS.ErrnoException) => {
      if (error instanceof NotUtf8Error) problems.add(where, error.message);
      else if (error.code !== 'ENOENT') problems.add(where, `cannot read: ${error.message}`);
      return null;
    });
    if (labels === null) {
      withoutLabels++;
      continue;
    }
    const image = images.match([insideFolder(store.folder, imagePath), posix(relative(root, imagePath)), posix(relative(splitFolder, imagePath))]);
    if (!image) {
      notInProject.push({ file: posix(relative(root, imagePath)), objects: labels.split('\n').filter((l) => l.trim()).length });
      continue;
    }
    if (!checkMatchedImage(image, { width: null, height: null }, where, problems)) continue;
    planned.push({ image, instances: readYoloLabels(labels, data.names, image.width, image.height, where, problems) });
  }
  if (!problems.empty) throw new FormatError(problems.list);
  const classes = [...data.names].sort(([a], [b]) => a - b).map(([, name]) => name);
  return { ...writeImport(store, planned, classes), listed: listed.size, withoutLabels, notInProject };
}

export interface YoloExportOptions extends SelectionOptions {
  /** Share of the images for validation (default DEFAULT_VAL_FRACTION), chosen by a seeded hash of their paths. */
  readonly valFraction?: number;
  readonly seed?: number;
  /** segment (polygons) or detect (boxes); default segment when any exported annotation has a mask. */
  readonly task?: YoloTask;
  /** How images go into images/<split>/: hard links (default; copies across file systems), copies, or not at all. */
  readonly images?: ImagePlacement | 'none';
  readonly tolerance?: number;
}

export interface YoloExportReport {
  readonly out: string;
  readonly task: YoloTask;
  readonly train: number;
  readonly val: number;
  readonly objects: number;
  readonly withHoles: number;
  readonly joined: number;
  readonly boxesAsPolygons: number;
  readonly crowdLeftOut: number;
  readonly images: { readonly linked: number; readonly copied: number };
  readonly leftOut: { readonly path: string; readonly reason: string }[];
  readonly pendingLeftOut: number;
  /** Images written without their stale annotations (made before the file changed; review the image again). */
  readonly staleLeftOut: { readonly path: string; readonly annotations: number }[];
}

/**
 * Exports the selected images as a YOLO dataset in a new folder `out`, written whole or not at all:
 * images/{train,val}/<path>, labels/{train,val}/<path>.txt (an empty file for an image without objects) and
 * data.yaml with every project class in id order.
 */
export async function exportYolo(store: ProjectStore, out: string, options: YoloExportOptions = {}): Promise<YoloExportReport> {
  const selection = await selectForExport(store, options);
  const categories = store.categories.list();
  const classIndex = new Map(categories.map((c, i) => [c.id, i]));
  const task = options.task ?? (selection.items.some((item) => item.annotations.some((a) => a.mask !== null)) ? 'segment' : 'detect');
  const leftOut = [...selection.leftOut];
  const taken = new Map<string, string>();
  const items = selection.items.filter(({ image }) => {
    const key = withoutExtension(image.path);
    const other = taken.get(key);
    if (other !== undefined) leftOut.push({ path: image.path, reason: `its label file would be ${other}'s too (${key}.txt)` });
    else taken.set(key, image.path);
    return other === undefined;
  });
  const val = validationSplit(items.map((i) => i.image.path), options.valFraction ?? DEFAULT_VAL_FRACTION, options.seed ?? DEFAULT_SPLIT_SEED);
  const files: OutputFile[] = [];
  const totals = { objects: 0, withHoles: 0, joined: 0, boxesAsPolygons: 0, crowdLeftOut: 0 };
  for (const { image, annotations } of items) {
    const split = val.has(image.path) ? 'val' : 'train';
    const labels = buildYoloLabels({ image, annotations, classIndex, task, ...(options.tolerance ? { tolerance: options.tolerance } : {}) });
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += labels[key];
    files.push({ path: `labels/${split}/${withoutExtension(image.path)}.txt`, data: labels.text });
    if (options.images !== 'none') files.push({ path: `images/${split}/${image.path}`, source: join(store.folder, image.path) });
  }
  const comment = [
    `YOLO ${task} dataset written by Loupe from ${store.folder}`,
    `${items.length - val.size} training and ${val.size} validation images (validation fraction ${options.valFraction ?? DEFAULT_VAL_FRACTION}, seed ${options.seed ?? DEFAULT_SPLIT_SEED})`,
    ...(val.size === 0 ? ['no validation images: val is the training set'] : []),
  ].join('\n');
  const yaml = buildDataYaml({ names: categories.map((c) => c.name), train: 'images/train', val: val.size > 0 ? 'images/val' : 'images/train', comment });
  files.push({ path: 'data.yaml', data: yaml });
  const target = resolve(out);
  const written = await writeDatasetFolder(target, files, options.images === 'copy' ? 'copy' : 'link');
  return {
    out: target,
    task,
    train: items.length - val.size,
    val: val.size,
    ...totals,
    images: { linked: written.linked, copied: written.copied },
    leftOut,
    pendingLeftOut: selection.pendingLeftOut,
    staleLeftOut: selection.staleLeftOut,
  };
}
