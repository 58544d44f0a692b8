// LabelMe folders in and out of a project: the files read and written here, the format itself in
// app/formats/labelme.ts.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { FormatError, joinRelative, Problems, relativePath, withoutExtension } from '../../app/formats/common.js';
import { buildLabelmeFile, labelmeInstances, readLabelmeFile } from '../../app/formats/labelme.js';
import type { ImageRecord } from '../../app/model/index.js';
import { FileError } from '../fs/fileError.js';
import type { ProjectStore } from '../store/index.js';
import { checkMatchedImage, insideFolder, ProjectImages, writeImport, type PlannedImage, type WrittenImport } from './imports.js';
import { checkNewFolder, writeDatasetFolder, writeFilesTogether } from './output.js';
import { selectForExport, type SelectionOptions } from './selection.js';
import { NotUtf8Error, readUtf8 } from './text.js';

export interface LabelmeImportReport extends WrittenImport {
  /** LabelMe files read. */
  readonly files: number;
  /** Shapes with no area (point, line, ...) and of unknown types, by shape_type. */
  readonly skippedShapes: Record<string, number>;
  /** JSON files in the folder that are not LabelMe files (no shapes, no imagePath), left alone. */
  readonly notLabelme: string[];
  /** Files whose image is not in the project, with how many shapes they hold. */
  readonly notInProject: { readonly file: string; readonly imagePath: string; readonly shapes: number }[];
}

/** The .json files under a folder (hidden folders and node_modules skipped), sorted. */
async function jsonFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await jsonFilesUnder(path)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) found.push(path);
  }
  return found.sort();
}

/**
 * Imports a LabelMe file, or every LabelMe file under a folder (beside the images or in a folder of their own).
 * Each file's image is its `imagePath` taken from the file's folder; when that is not a project image, the same
 * place relative to the folder given (a copy of the image tree), else the only project image of that file name.
 * Every file is checked before anything is written; all the problems are reported together.
 */
export async function importLabelme(store: ProjectStore, input: string): Promise<LabelmeImportReport> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new FileError(input, 'no such file or folder');
  const single = !info.isDirectory();
  const files = single ? [input] : await jsonFilesUnder(input);
  const root = single ? dirname(input) : input;
  const problems = new Problems();
  const images = new ProjectImages(store);
  const planned: PlannedImage[] = [];
  const claimed = new Map<number, string>();
  const notLabelme: string[] = [];
  const notInProject: LabelmeImportReport['notInProject'][number][] = [];
  const skippedShapes: Record<string, number> = {};
  let read = 0;

  for (const path of files) {
    const where = relative(root, path).split(sep).join('/');
    let json: unknown;
    try {
      json = JSON.parse(await readUtf8(path));
    } catch (error) {
      const reason = error instanceof SyntaxError ? `malformed JSON: ${error.message}` : error instanceof NotUtf8Error ? error.message : `cannot read: ${(error as Error).message}`;
      problems.add(where, reason);
      continue;
    }
    const looksLikeLabelme = typeof json === 'object' && json !== null && ('shapes' in json || 'imagePath' in json);
    if (!looksLikeLabelme) {
      if (single) problems.add(where, 'is not a LabelMe file (no shapes, no imagePath)');
      else notLabelme.push(where);
      continue;
    }
    const file = readLabelmeFile(json, where, problems);
    if (file === null) continue;
    read++;
    const absoluteImage = resolve(dirname(path), file.imagePath);
    const image = images.match([
      insideFolder(store.folder, absoluteImage),
      single ? null : joinRelative(dirname(where) === '.' ? '' : dirname(where), basename(file.imagePath)),
      basename(file.imagePath),
    ]);
    if (!image) {
      notInProject.push({ file: where, imagePath: file.imagePath, shapes: file.shapes.length });
      continue;
    }
    if (!checkMatchedImage(image, { width: file.imageWidth, height: file.imageHeight }, where, problems)) continue;
    const other = claimed.get(image.id);
    if (other !== undefined) {
      problems.add(where, `annotates ${image.path}, which ${other} annotates too`);
      continue;
    }
    claimed.set(image.id, where);
    const { instances, skipped } = labelmeInstances(file, image.width, image.height, where, problems);
    for (const [type, n] of Object.entries(skipped)) skippedShapes[type] = (skippedShapes[type] ?? 0) + n;
    planned.push({ image, instances });
  }
  if (!problems.empty) throw new FormatError(problems.list);
  if (!single && read === 0 && notInProject.length === 0) throw new FileError(input, 'holds no LabelMe files (*.json with shapes and imagePath)');
  return { ...writeImport(store, planned), files: read, skippedShapes, notLabelme, notInProject };
}

export interface LabelmeExportOptions extends SelectionOptions {
  /** A new (or empty) folder to write the files into, mirroring the images' folders; without it, beside each image. */
  readonly out?: string;
  readonly tolerance?: number;
}

export interface LabelmeExportReport {
  /** The output folder, or the project folder when the files went beside the images. */
  readonly where: string;
  readonly images: number;
  readonly annotations: number;
  /** Masks with holes, which the polygons fill. */
  readonly withHoles: number;
  readonly leftOut: { readonly path: string; readonly reason: string }[];
  readonly pendingLeftOut: number;
  /** Images written without their stale annotations (made before the file changed; review the image again). */
  readonly staleLeftOut: { readonly path: string; readonly annotations: number }[];
}

/** The JSON file name an image gets: its path with `.json` for the extension. */
const jsonPathOf = (image: ImageRecord) => `${withoutExtension(image.path)}.json`;

/**
 * Exports the selected images as LabelMe files: into `out` (a new folder, written whole or not at all), or beside
 * each image, replacing the LabelMe file already there (a file there that is not LabelMe's stops the export
 * before anything is written).
 */
export async function exportLabelme(store: ProjectStore, options: LabelmeExportOptions = {}): Promise<LabelmeExportReport> {
  const selection = await selectForExport(store, options);
  const categoryNames = new Map(store.categories.list().map((c) => [c.id, c.name]));
  const out = options.out === undefined ? null : resolve(options.out);
  if (out) await checkNewFolder(out);
  const leftOut = [...selection.leftOut];
  const taken = new Map<string, string>();
  const files: { path: string; data: string }[] = [];
  let annotations = 0;
  let withHoles = 0;
  for (const { image, annotations: chosen } of selection.items) {
    const jsonPath = jsonPathOf(image);
    const other = taken.get(jsonPath);
    if (other !== undefined) {
      leftOut.push({ path: image.path, reason: `its LabelMe file ${jsonPath} would be ${other}'s too` });
      continue;
    }
    taken.set(jsonPath, image.path);
    const jsonFolder = dirname(jsonPath) === '.' ? '' : dirname(jsonPath);
    // From the JSON's folder to the image: beside it, its name; from an output folder, back to the project.
    const imagePath = out
      ? relative(join(out, jsonFolder), join(store.folder, image.path)).split(sep).join('/')
      : relativePath(jsonFolder, image.path);
    const built = buildLabelmeFile({ image, imagePath, annotations: chosen, categoryNames, ...(options.tolerance ? { tolerance: options.tolerance } : {}) });
    annotations += chosen.length;
    withHoles += built.withHoles;
    files.push({ path: jsonPath, data: `${JSON.stringify(built.file, null, 2)}\n` });
  }

  if (out) {
    await writeDatasetFolder(out, files, 'copy');
  } else {
    const problems = new Problems();
    for (const file of files) {
      const target = join(store.folder, file.path);
      const existing = await readFile(target, 'utf8').catch(() => null);
      if (existing === null) continue;
      let json: unknown = null;
      try {
        json = JSON.parse(existing);
      } catch {
        // not JSON: refused below
      }
      if (typeof json !== 'object' || json === null || !('shapes' in json)) problems.add(file.path, 'exists and is not a LabelMe file; it is left as it is');
    }
    if (!problems.empty) throw new FormatError(problems.list);
    await writeFilesTogether(files.map((f) => ({ path: join(store.folder, f.path), data: f.data })));
  }
  return { where: out ?? store.folder, images: files.length, annotations, withHoles, leftOut, pendingLeftOut: selection.pendingLeftOut, staleLeftOut: selection.staleLeftOut };
}
