// Loupe's LabelMe, YOLO and VOC files against the reference tools': LabelMe's own converters and Ultralytics'
// convert_coco (their outputs committed under tools/formats/fixtures, see make_fixtures.py), and, where
// tools/formats/.venv has them (bash tools/formats/setup-venv.sh), LabelMe's reader and Ultralytics' dataset
// check run on what Loupe exports.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as decodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { polygonsToRle } from '../../app/geometry/polygon.js';
import { area, encode, iou, merge, toBbox } from '../../app/geometry/rle.js';
import type { Annotation, Rle } from '../../app/model/index.js';
import { runLoupe } from '../cli/cli.test-support.js';
import { openProject } from '../store/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(repo, 'tools/formats/fixtures');
const samples = join(repo, 'resources/samples');
const venvPython = join(repo, 'tools/formats/.venv/bin/python');

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'loupe-reference-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A scanned copy of a folder (without its project database). */
function scannedCopy(source: string, name: string): string {
  const folder = join(work, name);
  cpSync(source, folder, { recursive: true, filter: (src) => !src.includes('.loupe') });
  expect(runLoupe(['scan', folder]).status).toBe(0);
  return folder;
}

function annotations(folder: string): Map<string, (Annotation & { name: string })[]> {
  const store = openProject(folder, { readonly: true });
  try {
    const names = new Map(store.categories.list().map((c) => [c.id, c.name]));
    return new Map(
      store.images.list({ limit: 1000 }).items.map((image) => [image.path, store.annotations.forImage(image.id).map((a) => ({ ...a, name: names.get(a.categoryId)! }))]),
    );
  } finally {
    store.close();
  }
}

function markAllReviewed(folder: string): void {
  const store = openProject(folder);
  store.images.setStatus(store.images.list({ limit: 1000 }).items.map((i) => i.id), 'reviewed');
  store.close();
}

interface CocoFile {
  images: { id: number; file_name: string; width: number; height: number }[];
  categories: { id: number; name: string }[];
  annotations: { image_id: number; category_id: number; segmentation: number[][]; bbox: number[] }[];
}

describe('LabelMe files against LabelMe\'s own converters (labelme2coco, labelme2voc)', () => {
  let folder: string;
  beforeAll(() => {
    folder = scannedCopy(join(fixtures, 'labelme'), 'labelme');
    const run = runLoupe(['import', folder, '--format', 'labelme', folder]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${folder}: imported 9 annotations into 3 images, new categories: cat, box, ball, dog, __ignore__\n`);
    expect(run.stderr).toContain('shapes without an area, not imported: 1 point, 1 line, 1 linestrip');
  });

  it('gives the instances labelme2coco gives: the same polygon masks, groups joined, rectangles as their box', () => {
    const coco = JSON.parse(readFileSync(join(fixtures, 'labelme2coco/annotations.json'), 'utf8')) as CocoFile;
    const ours = annotations(folder);
    for (const image of coco.images) {
      const path = image.file_name.replace('JPEGImages/', '').replace('.jpg', '.png');
      const mine = ours.get(path)!.filter((a) => !a.crowd);
      const theirs = coco.annotations.filter((a) => a.image_id === image.id);
      // labelme2coco leaves __ignore__ out (Loupe keeps it as a crowd region); one instance each otherwise.
      expect(mine.map((a) => a.name)).toEqual(theirs.map((a) => coco.categories.find((c) => c.id === a.category_id)!.name));
      theirs.forEach((t, i) => {
        const a = mine[i]!;
        const theirMask = polygonsToRle(t.segmentation, image.height, image.width);
        if (a.mask === null) {
          // A rectangle: labelme2coco writes its 4 corners, Loupe keeps the box.
          const xs = t.segmentation[0]!.filter((_, k) => k % 2 === 0);
          const ys = t.segmentation[0]!.filter((_, k) => k % 2 === 1);
          expect(a.bbox).toEqual([Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)]);
        } else if (a.name === 'ball') {
          // A circle: both trace it with a vertex about every pixel of arc, not at the same places.
          expect(iou(a.mask, theirMask)).toBeGreaterThan(0.93);
        } else {
          expect(a.mask).toEqual(theirMask);
        }
      });
    }
  });

  it('exports VOC label maps that agree with labelme2voc: the same palette, void where LabelMe ignores, the same classes', () => {
    markAllReviewed(folder);
    const out = join(work, 'labelme-voc');
    expect(runLoupe(['export', folder, '--format', 'voc', '--out', out, '--images', 'none']).status).toBe(0);
    const classNames = readFileSync(join(fixtures, 'labelme2voc/class_names.txt'), 'utf8').trim().split('\n');
    const ourNames = readFileSync(join(out, 'labelmap.txt'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(':')[0]!);
    for (const scene of ['scene1', 'scene2']) {
      const theirs = decodePng(readFileSync(join(fixtures, 'labelme2voc/SegmentationClass', `${scene}.png`)));
      const ours = decodePng(readFileSync(join(out, 'SegmentationClass', `${scene}.png`)));
      expect(ours.palette).toEqual(theirs.palette);
      // Per class name, the pixels agree up to the two rasterisers (PIL's and COCO's) and where objects overlap.
      for (const name of classNames.slice(1)) {
        const mask = (data: ArrayLike<number>, value: number) =>
          encode({ width: 96, height: 64, data: Uint8Array.from({ length: 96 * 64 }, (_, p) => (data[p] === value ? 1 : 0)) });
        const theirMask = mask(theirs.data, classNames.indexOf(name));
        const ourMask = mask(ours.data, ourNames.indexOf(name));
        if (area(theirMask) === 0) {
          expect(area(ourMask), `${scene} ${name}`).toBe(0);
          continue;
        }
        // The rectangle: LabelMe paints a box, Loupe keeps it a box without a mask (in the XML only).
        if (name === 'box') continue;
        // PIL, which labelme2voc draws with, fills a polygon's outline pixels too: a 20 x 20 square covers 21 x 21.
        // So LabelMe's pixels hold Loupe's, plus a one-pixel rim (IoU 0.78 for the 120-pixel dog, 0.94 for 400).
        expect(area(merge([ourMask, theirMask], true)) / area(ourMask), `${scene} ${name}`).toBeGreaterThanOrEqual(0.97);
        expect(iou(ourMask, theirMask), `${scene} ${name}`).toBeGreaterThan(0.75);
      }
      const theirVoid = encode({ width: 96, height: 64, data: Uint8Array.from(theirs.data, (v) => (v === 255 ? 1 : 0)) });
      const ourVoid = encode({ width: 96, height: 64, data: Uint8Array.from(ours.data, (v) => (v === 255 ? 1 : 0)) });
      if (area(theirVoid) > 0) expect(iou(ourVoid, theirVoid)).toBeGreaterThan(0.8);
    }
  });
});

describe("YOLO labels from Ultralytics' convert_coco", () => {
  it('import to the masks of the COCO file they were converted from (IoU >= 0.95 each)', () => {
    const folder = scannedCopy(samples, 'samples-yolo');
    const dataset = join(work, 'ultralytics-dataset');
    cpSync(join(fixtures, 'ultralytics-convert-coco/labels/samples'), join(dataset, 'labels'), { recursive: true });
    cpSync(samples, join(dataset, 'images'), { recursive: true, filter: (src) => !src.includes('.loupe') && !src.endsWith('.json') });
    const coco = JSON.parse(readFileSync(join(samples, 'annotations.json'), 'utf8')) as CocoFile;
    // convert_coco with cls91to80=False numbers classes by COCO category id - 1.
    const names = coco.categories.map((c) => `  ${c.id - 1}: ${c.name}`).join('\n');
    writeFileSync(join(dataset, 'data.yaml'), `train: images\nnames:\n${names}\n`);
    const run = runLoupe(['import', folder, '--format', 'yolo', dataset]);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${dataset}: imported ${coco.annotations.length} annotations into ${coco.images.length} images, new categories: ${coco.categories.map((c) => c.name).join(', ')}\n`);
    const ours = annotations(folder);
    for (const image of coco.images) {
      const truth = coco.annotations.filter((a) => a.image_id === image.id);
      const mine = ours.get(image.file_name)!;
      expect(mine.map((a) => a.name)).toEqual(truth.map((t) => coco.categories.find((c) => c.id === t.category_id)!.name));
      truth.forEach((t, i) => expect(iou(mine[i]!.mask!, polygonsToRle(t.segmentation, image.height, image.width))).toBeGreaterThanOrEqual(0.95));
    }
  });
});

/** The reference environment, or why it is not there. */
function referenceTools(module: string): string | null {
  if (!existsSync(venvPython)) return 'tools/formats/.venv is absent (bash tools/formats/setup-venv.sh installs the reference tools)';
  const run = spawnSync(venvPython, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, YOLO_CONFIG_DIR: tmpdir() } });
  return run.status === 0 ? null : `${module} does not import in tools/formats/.venv: ${run.stderr.trim().split('\n').at(-1)}`;
}

function runPython<T>(script: string, args: readonly string[]): T {
  const run = spawnSync(venvPython, [join(repo, 'tools/formats', script), ...args], {
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, YOLO_CONFIG_DIR: join(work, 'ultralytics-settings') },
  });
  if (run.status !== 0) throw new Error(`${script} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

function filesUnder(root: string, suffix: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(suffix)).map((f) => join(root, f)).sort();
}

const noUltralytics = referenceTools('ultralytics');
describe.skipIf(noUltralytics !== null)(`Loupe's YOLO export read by Ultralytics${noUltralytics ? ` (skipped: ${noUltralytics})` : ''}`, () => {
  it('passes check_det_dataset and verify_image_label, with the same classes, and masks drawn by Ultralytics at IoU >= 0.85', () => {
    const folder = scannedCopy(samples, 'samples-export-yolo');
    runLoupe(['import', folder, '--coco', join(folder, 'annotations.json')]);
    const out = join(work, 'yolo-for-ultralytics');
    expect(runLoupe(['export', folder, '--format', 'yolo', '--all', '--out', out]).status).toBe(0);
    const checked = runPython<{
      names: Record<string, string>;
      images: { file: string; corrupt: number; found: number; message: string; classes: number[]; masks: Rle[] }[];
    }>('check_yolo.py', [out]);
    const ours = annotations(folder);
    const categories = [...new Set([...ours.values()].flat().map((a) => [a.categoryId, a.name] as const))].sort(([a], [b]) => a - b);
    expect(Object.values(checked.names)).toEqual([...new Map(categories).values()]);
    expect(checked.images).toHaveLength(ours.size);
    for (const image of checked.images) {
      expect({ file: image.file, corrupt: image.corrupt, found: image.found, message: image.message }).toEqual({ file: image.file, corrupt: 0, found: 1, message: '' });
      const path = image.file.replace(/^images\/(train|val)\//, '');
      const mine = ours.get(path)!;
      expect(image.classes).toEqual(mine.map((a) => Object.values(checked.names).indexOf(a.name)));
      // Ultralytics draws with cv2.fillPoly on coordinates cut to whole pixels, which moves a shape by up to a pixel:
      // small shapes lose most (the lowest here, 0.866, is a 382-pixel triangle; 0.90 to 0.99 above 1,000 pixels).
      image.masks.forEach((mask, i) => expect(iou(mask, mine[i]!.mask!), `${path} #${i}`).toBeGreaterThanOrEqual(area(mine[i]!.mask!) >= 1000 ? 0.9 : 0.85));
    }
  });
});

const noLabelme = referenceTools('labelme');
describe.skipIf(noLabelme !== null)(`Loupe's LabelMe export read by LabelMe${noLabelme ? ` (skipped: ${noLabelme})` : ''}`, () => {
  it('loads in LabelMe (image found, size checked) and LabelMe draws the masks Loupe holds, IoU >= 0.85 each', () => {
    const folder = scannedCopy(samples, 'samples-export-labelme');
    runLoupe(['import', folder, '--coco', join(folder, 'annotations.json')]);
    const out = join(work, 'labelme-for-labelme');
    expect(runLoupe(['export', folder, '--format', 'labelme', '--all', '--out', out]).status).toBe(0);
    const files = filesUnder(out, '.json');
    const read = runPython<{ file: string; error?: string; size: [number, number]; instances: (Rle & { label: string })[] }[]>('check_labelme.py', files);
    const ours = annotations(folder);
    expect(read.filter((r) => r.error)).toEqual([]);
    for (const entry of read) {
      const path = entry.file.slice(out.length + 1).replace(/\.json$/, '');
      const [imagePath, mine] = [...ours].find(([p]) => p.replace(/\.[^.]+$/, '') === path)!;
      expect(entry.instances.map((i) => i.label).sort(), imagePath).toEqual(mine.map((a) => a.name).sort());
      // LabelMe paints later shapes over earlier ones and draws with PIL, pixel centres on the integers.
      for (const instance of entry.instances) {
        const best = Math.max(...mine.filter((a) => a.name === instance.label).map((a) => iou(instance, a.mask!)));
        expect(best, `${imagePath} ${instance.label}`).toBeGreaterThanOrEqual(0.85);
      }
    }
  });
});

describe('Pascal VOC export read by an independent reader (Python: xml.etree and Pillow)', () => {
  const noPillow = spawnSync('/usr/bin/python3', ['-c', 'import PIL, xml.etree.ElementTree'], { encoding: 'utf8' }).status === 0 ? null : 'no Pillow for /usr/bin/python3';
  it.skipIf(noPillow !== null)(`parses every XML and reads every label map as a palette image${noPillow ? ` (skipped: ${noPillow})` : ''}`, () => {
    const folder = scannedCopy(samples, 'samples-export-voc');
    runLoupe(['import', folder, '--coco', join(folder, 'annotations.json')]);
    const out = join(work, 'voc-for-python');
    expect(runLoupe(['export', folder, '--format', 'voc', '--all', '--out', out]).status).toBe(0);
    const script = [
      'import json, sys, pathlib',
      'import xml.etree.ElementTree as ET',
      'from PIL import Image',
      'root = pathlib.Path(sys.argv[1]); out = {}',
      "for id in (root / 'ImageSets/Segmentation/trainval.txt').read_text().split():",
      "    xml = ET.parse(root / 'Annotations' / (id + '.xml')).getroot()",
      "    objects = [(o.findtext('name'), [int(o.find('bndbox').findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax')]) for o in xml.iter('object')]",
      "    im = Image.open(root / 'SegmentationObject' / (id + '.png'))",
      "    cl = Image.open(root / 'SegmentationClass' / (id + '.png'))",
      "    out[id] = {'size': [int(xml.findtext('size/width')), int(xml.findtext('size/height'))], 'objects': objects, 'mode': [im.mode, cl.mode], 'values': sorted(set(im.getdata())), 'palette': im.getpalette()[:9]}",
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync('/usr/bin/python3', ['-c', script, out], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    const read = JSON.parse(run.stdout) as Record<string, { size: [number, number]; objects: [string, number[]][]; mode: string[]; values: number[]; palette: number[] }>;
    const ours = annotations(folder);
    expect(Object.keys(read)).toHaveLength(ours.size);
    for (const [id, entry] of Object.entries(read)) {
      const [path, mine] = [...ours].find(([p]) => p.replace(/\.[^.]+$/, '') === id)!;
      expect(entry.mode).toEqual(['P', 'P']);
      expect(entry.palette).toEqual([0, 0, 0, 128, 0, 0, 0, 128, 0]);
      expect(entry.values).toEqual(Array.from({ length: mine.length + 1 }, (_, i) => i).filter((v) => v === 0 || entry.values.includes(v)));
      expect(entry.objects.map(([name]) => name)).toEqual(mine.map((a) => a.name));
      // Boxes of masks are the masks' own (not a box stored beside them), 1-based and inclusive.
      entry.objects.forEach(([, [xmin, ymin, xmax, ymax]], i) => expect([xmin! - 1, ymin! - 1, xmax! - xmin! + 1, ymax! - ymin! + 1], path).toEqual(toBbox(mine[i]!.mask!)));
    }
  });
});

