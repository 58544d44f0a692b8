// Pascal VOC datasets out of a project: the files written here, the format itself in app/formats/voc.ts.
import { extname, join, resolve } from 'node:path';
import { FormatError, validationSplit, withoutExtension, basenameOf } from '../../app/formats/common.js';
import { buildVocImage, vocLabelMap, vocLimitProblem, VOC_MAX_INDEX } from '../../app/formats/voc.js';
import { DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION } from '../../app/ipc/contract.js';
import type { ProjectStore } from '../store/index.js';
import { writeDatasetFolder, type ImagePlacement, type OutputFile } from './output.js';
import { selectForExport, type SelectionOptions } from './selection.js';

export interface VocExportOptions extends SelectionOptions {
  /** Share of the images for validation (default DEFAULT_VAL_FRACTION), chosen by a seeded hash of their paths. */
  readonly valFraction?: number;
  readonly seed?: number;
  /** How images go into JPEGImages/: hard links (default; copies across file systems), copies, or not at all. */
  readonly images?: ImagePlacement | 'none';
}

export interface VocExportReport {
  readonly out: string;
  readonly images: number;
  /** Images with at least one mask (in SegmentationObject, SegmentationClass and ImageSets/Segmentation). */
  readonly segmented: number;
  readonly objects: number;
  readonly train: number;
  readonly val: number;
  /** Pixels where masks overlap, given to the smaller object. */
  readonly overlapPixels: number;
  /** Crowd regions, written as difficult objects and void (255) pixels. */
  readonly crowd: number;
  /** Images whose EXIF orientation turns them: JPEGImages holds them as stored, the annotations as displayed. */
  readonly rotated: string[];
  readonly linked: number;
  readonly copied: number;
  readonly leftOut: { readonly path: string; readonly reason: string }[];
  readonly pendingLeftOut: number;
  /** Images written without their stale annotations (made before the file changed; review the image again). */
  readonly staleLeftOut: { readonly path: string; readonly annotations: number }[];
}

const list = (ids: readonly string[]) => ids.map((id) => `${id}\n`).join('');

/**
 * Exports the selected images as a Pascal VOC dataset in a new folder `out`, written whole or not at all:
 * Annotations/<id>.xml, SegmentationObject/<id>.png and SegmentationClass/<id>.png (images with masks),
 * JPEGImages/<id>.<ext>, ImageSets/Main and ImageSets/Segmentation train/val/trainval lists, and labelmap.txt.
 * An image's id is its path without the extension (sub-folders kept). Classes are numbered 1.. in id order.
 */
export async function exportVoc(store: ProjectStore, out: string, options: VocExportOptions = {}): Promise<VocExportReport> {
  const selection = await selectForExport(store, options);
  const categories = store.categories.list();
  if (categories.length > VOC_MAX_INDEX) {
    throw new FormatError([{ where: store.folder, reason: `has ${categories.length} classes; VOC's 8-bit SegmentationClass holds ${VOC_MAX_INDEX}` }]);
  }
  const classIndex = new Map(categories.map((c, i) => [c.id, i + 1]));
  const categoryNames = new Map(categories.map((c) => [c.id, c.name]));
  const leftOut = [...selection.leftOut];
  const taken = new Map<string, string>();
  const items = selection.items.filter(({ image, annotations }) => {
    const id = withoutExtension(image.path);
    const other = taken.get(id);
    const problem = other !== undefined ? `its VOC id ${id} would be ${other}'s too` : vocLimitProblem({ annotations, classIndex });
    if (problem) leftOut.push({ path: image.path, reason: problem });
    else taken.set(id, image.path);
    return problem === null;
  });
  const val = validationSplit(items.map((i) => i.image.path), options.valFraction ?? DEFAULT_VAL_FRACTION, options.seed ?? DEFAULT_SPLIT_SEED);

  const files: OutputFile[] = [];
  const sets = { main: { train: [] as string[], val: [] as string[] }, segmentation: { train: [] as string[], val: [] as string[] } };
  let objects = 0;
  let overlapPixels = 0;
  let crowd = 0;
  const rotated: string[] = [];
  for (const { image, annotations } of items) {
    const id = withoutExtension(image.path);
    const jpegPath = `JPEGImages/${id}${extname(image.path).toLowerCase()}`;
    const voc = buildVocImage({ id, fileName: basenameOf(jpegPath), path: jpegPath, width: image.width, height: image.height, annotations, categoryNames, classIndex });
    const split = val.has(image.path) ? 'val' : 'train';
    files.push({ path: `Annotations/${id}.xml`, data: voc.xml });
    sets.main[split].push(id);
    if (voc.segmentationObject && voc.segmentationClass) {
      files.push({ path: `SegmentationObject/${id}.png`, data: voc.segmentationObject });
      files.push({ path: `SegmentationClass/${id}.png`, data: voc.segmentationClass });
      sets.segmentation[split].push(id);
    }
    if (options.images !== 'none') files.push({ path: jpegPath, source: join(store.folder, image.path) });
    if (image.orientation !== 1) rotated.push(image.path);
    objects += voc.objects;
    overlapPixels += voc.overlapPixels;
    crowd += annotations.filter((a) => a.crowd).length;
  }
  for (const [folder, set] of [['Main', sets.main], ['Segmentation', sets.segmentation]] as const) {
    files.push({ path: `ImageSets/${folder}/train.txt`, data: list(set.train) });
    files.push({ path: `ImageSets/${folder}/val.txt`, data: list(set.val) });
    files.push({ path: `ImageSets/${folder}/trainval.txt`, data: list([...set.train, ...set.val].sort()) });
  }
  files.push({ path: 'labelmap.txt', data: vocLabelMap(categories.map((c) => c.name)) });
  const target = resolve(out);
  const written = await writeDatasetFolder(target, files, options.images === 'copy' ? 'copy' : 'link');
  return {
    out: target,
    images: items.length,
    segmented: sets.segmentation.train.length + sets.segmentation.val.length,
    objects,
    train: items.length - val.size,
    val: val.size,
    overlapPixels,
    crowd,
    rotated,
    linked: written.linked,
    copied: written.copied,
    leftOut,
    pendingLeftOut: selection.pendingLeftOut,
    staleLeftOut: selection.staleLeftOut,
  };
}
