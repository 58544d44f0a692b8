// The data a training run learns from: the project's reviewed truth, written by the COCO export service (the same
// rules as `loupe export`), split by image into split/train and split/heldout (see split.ts), each a COCO dataset
// directory as tools/model reads one. Image paths are relative to the split folder, so the project can move.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CocoDataset } from '../../app/formats/coco.js';
import { exportCocoFile, type CocoExportResult } from '../fs/cocoFiles.js';
import { writeFileAtomic } from '../fs/atomicWrite.js';
import { FileError } from '../fs/fileError.js';
import type { ProjectStore } from '../store/index.js';
import { DEFAULT_SPLIT_SEED, heldOutKeys, splitKey } from './split.js';

export interface SplitSide {
  /** The COCO dataset directory (annotations.json). */
  readonly dir: string;
  /** Image paths relative to the project folder. */
  readonly images: readonly string[];
  /** Instances, crowd regions aside. */
  readonly instances: number;
}

export interface TrainingData {
  readonly seed: number;
  readonly train: SplitSide;
  readonly heldout: SplitSide;
  /** Classes with reviewed instances in the training split, and those without (left out of training). */
  readonly classes: readonly string[];
  readonly leftOut: readonly string[];
  /** Reviewed images the export could not write, and why. */
  readonly leftOutImages: CocoExportResult['leftOut'];
  /** Reviewed images written without their stale annotations. */
  readonly staleImages: number;
}

const DATA_FILE = 'data.json';

/** The training data of a run folder written before (a resumed run keeps its data), or null. */
export async function readTrainingData(runDir: string): Promise<TrainingData | null> {
  try {
    return JSON.parse(await readFile(path.join(runDir, DATA_FILE), 'utf8')) as TrainingData;
  } catch {
    return null;
  }
}

/** Exports the reviewed truth into `runDir` and splits it; refuses data a model cannot learn from or be scored on. */
export async function writeTrainingData(store: ProjectStore, runDir: string, seed = DEFAULT_SPLIT_SEED): Promise<TrainingData> {
  await mkdir(runDir, { recursive: true });
  const exported = await exportCocoFile(store, path.join(runDir, 'reviewed.json'), { scope: 'reviewed' });
  const dataset = JSON.parse(await readFile(exported.path, 'utf8')) as CocoDataset;
  if (dataset.images.length === 0) {
    throw new FileError(store.folder, 'no reviewed images to train on; review some first (Enter in the app, or `loupe review --mark-reviewed`)');
  }
  // Keyed as scoring keys them (every reviewed image present), so `loupe evaluate --split heldout` scores the same images.
  const keyOf = new Map<number, string>();
  let after: string | null = null;
  const reviewed: string[] = [];
  do {
    const page = store.images.list({ status: 'reviewed', after, limit: 1000 });
    reviewed.push(...page.items.filter((image) => !image.missing).map(splitKey));
    after = page.next;
  } while (after !== null);
  for (const image of dataset.images) {
    const record = store.images.getByPath(image.file_name);
    if (record) keyOf.set(image.id, splitKey(record));
  }
  const held = heldOutKeys(reviewed, seed);
  const heldoutIds = new Set(dataset.images.filter((image) => held.has(keyOf.get(image.id) ?? '')).map((image) => image.id));
  if (dataset.images.length < 2 || heldoutIds.size === 0 || heldoutIds.size === dataset.images.length) {
    throw new FileError(store.folder, `${dataset.images.length} reviewed image${dataset.images.length === 1 ? '' : 's'} cannot be split into images to train on and images to score on; review more`);
  }
  const train = await writeSide(store, dataset, path.join(runDir, 'split', 'train'), (id) => !heldoutIds.has(id));
  const heldout = await writeSide(store, dataset, path.join(runDir, 'split', 'heldout'), (id) => heldoutIds.has(id));
  const trained = new Set(dataset.annotations.filter((a) => !a.iscrowd && !heldoutIds.has(a.image_id)).map((a) => a.category_id));
  if (trained.size === 0) throw new FileError(store.folder, `the ${train.images.length} reviewed images of the training split hold no instances to learn from`);
  const ordered = [...dataset.categories].sort((a, b) => a.id - b.id);
  const data: TrainingData = {
    seed,
    train,
    heldout,
    classes: ordered.filter((c) => trained.has(c.id)).map((c) => c.name),
    leftOut: ordered.filter((c) => !trained.has(c.id)).map((c) => c.name),
    leftOutImages: exported.leftOut,
    staleImages: exported.staleLeftOut.length,
  };
  await writeFileAtomic(path.join(runDir, DATA_FILE), `${JSON.stringify(data, null, 2)}\n`);
  return data;
}

async function writeSide(store: ProjectStore, dataset: CocoDataset, dir: string, keep: (imageId: number) => boolean): Promise<SplitSide> {
  await mkdir(dir, { recursive: true });
  const images = dataset.images.filter((image) => keep(image.id));
  const annotations = dataset.annotations.filter((a) => keep(a.image_id));
  const relative = (file: string) => path.relative(dir, path.join(store.folder, file)).split(path.sep).join('/');
  const side: CocoDataset = {
    ...(dataset.info !== undefined ? { info: dataset.info } : {}),
    images: images.map((image) => ({ ...image, file_name: relative(image.file_name) })),
    annotations,
    categories: dataset.categories,
  };
  await writeFileAtomic(path.join(dir, 'annotations.json'), JSON.stringify(side));
  return { dir, images: images.map((image) => image.file_name), instances: annotations.filter((a) => !a.iscrowd).length };
}
