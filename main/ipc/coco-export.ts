// `export.coco`: the project's images, classes and annotations as a COCO file (RLE masks, exact),
// written atomically (temp file + rename) so a crash never leaves half a file.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCocoDataset } from '../../app/formats/coco.js';
import type { Annotation, ImageRecord } from '../../app/model/index.js';
import type { ProjectStore } from '../store/index.js';
import type { CocoExporter } from './project-handlers.js';

export const exportCoco: CocoExporter = async (store, { path: target, reviewedOnly }) => {
  const images: ImageRecord[] = [];
  let after: string | null = null;
  do {
    const page = store.images.list(reviewedOnly ? { status: 'reviewed', after, limit: 1000 } : { after, limit: 1000 });
    images.push(...page.items.filter((image) => !image.missing && image.status !== 'error'));
    after = page.next;
  } while (after !== null);
  const annotations: Annotation[] = images.flatMap((image) => store.annotations.forImage(image.id));
  const dataset = buildCocoDataset({
    images,
    categories: store.categories.list(),
    annotations,
    segmentation: 'rle',
    includeScores: true,
    info: { description: `Loupe export of ${store.folder}`, date_created: new Date().toISOString() },
  });
  const file = path.resolve(target ?? defaultExportPath(store));
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(dataset));
  await rename(temp, file);
  return { path: file, images: dataset.images.length, annotations: dataset.annotations.length };
};

function defaultExportPath(store: ProjectStore): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return path.join(store.folder, '.loupe', 'exports', `coco-${stamp}.json`);
}
