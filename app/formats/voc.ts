/**
 * Pascal VOC (the VOC2012 layout): per image `Annotations/<id>.xml` (size, and each object's class and box),
 * `SegmentationObject/<id>.png` (each pixel the 1-based number of its object in the XML, 0 background) and
 * `SegmentationClass/<id>.png` (each pixel its class number, 0 background), both 8-bit indexed PNGs in the VOC
 * colour map, 255 (VOC's "void", not scored) where a crowd region lies. Pure (no files): XML text and PNG bytes.
 *
 * Limits: boxes are whole pixels, 1-based and inclusive as the VOC devkit reads them (xmin = x + 1,
 * xmax = x + w, rounded outward); where masks overlap, a pixel belongs to the smaller object (so it stays visible),
 * and the overlap is counted; at most 254 objects with masks per image and 254 classes (255 is void); crowd regions
 * are objects with `<difficult>1</difficult>` and void pixels; model scores and review states are not kept.
 */
import { area, decode, toBbox } from '../geometry/rle.js';
import type { Annotation, CategoryId } from '../model/types.js';
import { encodeIndexedPng } from './png.js';

/** The VOC palette index of pixels not scored (borders, crowd regions). */
export const VOC_VOID = 255;
/** Object and class numbers 1..254 fit beside background (0) and void (255). */
export const VOC_MAX_INDEX = 254;

/**
 * The VOC colour map (the devkit's labelcolormap): entry i spreads the bits of i over the three channels, most
 * significant first, 3 bits per round: entry 1 is (128, 0, 0), 2 (0, 128, 0), 255 (224, 224, 192).
 */
export function vocColourMap(): [number, number, number][] {
  const map: [number, number, number][] = [];
  for (let i = 0; i < 256; i++) {
    let [r, g, b] = [0, 0, 0];
    let c = i;
    for (let bit = 7; bit >= 0; bit--) {
      r |= (c & 1) << bit;
      g |= ((c >> 1) & 1) << bit;
      b |= ((c >> 2) & 1) << bit;
      c >>= 3;
    }
    map.push([r, g, b]);
  }
  return map;
}

const COLOUR_MAP = vocColourMap();

export interface VocImageInput {
  /** The image's id in the dataset (file names without extension under Annotations/, Segmentation*), e.g. `a/b`. */
  readonly id: string;
  /** The image file's name as written in <filename>, and its path (relative to the dataset) in <path>. */
  readonly fileName: string;
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** The annotations to write (the caller has chosen them), in order: the XML's objects. */
  readonly annotations: readonly Annotation[];
  readonly categoryNames: ReadonlyMap<CategoryId, string>;
  /** Class numbers 1..254 (SegmentationClass values). */
  readonly classIndex: ReadonlyMap<CategoryId, number>;
}

export interface VocImage {
  readonly xml: string;
  /** Null when no object has a mask (the image is not segmented). */
  readonly segmentationObject: Uint8Array | null;
  readonly segmentationClass: Uint8Array | null;
  readonly objects: number;
  /** Pixels covered by more than one mask, given to the smallest. */
  readonly overlapPixels: number;
}

/** Why an image cannot be written as VOC (more objects or classes than 8-bit label maps hold), or null. */
export function vocLimitProblem(input: Pick<VocImageInput, 'annotations' | 'classIndex'>): string | null {
  const withMasks = input.annotations.filter((a) => a.mask !== null && !a.crowd).length;
  if (withMasks > VOC_MAX_INDEX) return `has ${withMasks} objects with masks; VOC's 8-bit SegmentationObject holds ${VOC_MAX_INDEX}`;
  for (const a of input.annotations) {
    const index = input.classIndex.get(a.categoryId);
    if (index === undefined || index < 1 || index > VOC_MAX_INDEX) return `class number ${index} of annotation ${a.id} is not within 1..${VOC_MAX_INDEX}`;
  }
  return null;
}

/** One image as VOC: its XML, and its two label maps when any object has a mask. Throws past VOC's limits. */
export function buildVocImage(input: VocImageInput): VocImage {
  const limit = vocLimitProblem(input);
  if (limit) throw new Error(`${input.path}: ${limit}`);
  const { width, height } = input;
  const objects = input.annotations.map((a) => {
    const name = input.categoryNames.get(a.categoryId);
    if (name === undefined) throw new Error(`annotation ${a.id}: its category ${a.categoryId} is not among those to export`);
    return { a, name };
  });

  let segmentationObject: Uint8Array | null = null;
  let segmentationClass: Uint8Array | null = null;
  let overlapPixels = 0;
  const masked = objects.map((o, i) => ({ ...o, number: i + 1 })).filter(({ a }) => a.mask !== null);
  if (masked.length > 0) {
    const objectMap = new Uint8Array(width * height);
    const classMap = new Uint8Array(width * height);
    const painted = new Uint8Array(width * height);
    // Largest first, so a smaller object lying on a larger one keeps its pixels; crowd (void) last, over all.
    const order = masked
      .map((m) => ({ ...m, area: area(m.a.mask!) }))
      .sort((p, q) => Number(p.a.crowd ?? false) - Number(q.a.crowd ?? false) || q.area - p.area);
    let objectNumber = 0;
    const numbers = new Map(masked.filter(({ a }) => !a.crowd).map(({ a }) => [a.id, ++objectNumber]));
    for (const { a } of order) {
      const bits = decode(a.mask!);
      const objectValue = a.crowd ? VOC_VOID : numbers.get(a.id)!;
      const classValue = a.crowd ? VOC_VOID : input.classIndex.get(a.categoryId)!;
      for (let p = 0; p < bits.data.length; p++) {
        if (!bits.data[p]) continue;
        if (painted[p] && !a.crowd) overlapPixels++;
        painted[p] = 1;
        objectMap[p] = objectValue;
        classMap[p] = classValue;
      }
    }
    segmentationObject = encodeIndexedPng(width, height, objectMap, COLOUR_MAP);
    segmentationClass = encodeIndexedPng(width, height, classMap, COLOUR_MAP);
  }

  // XML objects: those with masks first, in order (their number in SegmentationObject is their place here), then
  // crowd regions and boxes without masks.
  const ordered = [
    ...objects.filter(({ a }) => a.mask !== null && !a.crowd),
    ...objects.filter(({ a }) => a.mask === null || a.crowd),
  ];
  const xml = vocXml(input, ordered, masked.length > 0);
  return { xml, segmentationObject, segmentationClass, objects: objects.length, overlapPixels };
}

function vocXml(input: VocImageInput, objects: readonly { a: Annotation; name: string }[], segmented: boolean): string {
  const lines = [
    '<annotation>',
    `  <folder>${escapeXml(input.path.includes('/') ? input.path.slice(0, input.path.lastIndexOf('/')) : '')}</folder>`,
    `  <filename>${escapeXml(input.fileName)}</filename>`,
    `  <path>${escapeXml(input.path)}</path>`,
    '  <source>',
    '    <database>Loupe</database>',
    '  </source>',
    '  <size>',
    `    <width>${input.width}</width>`,
    `    <height>${input.height}</height>`,
    '    <depth>3</depth>',
    '  </size>',
    `  <segmented>${segmented ? 1 : 0}</segmented>`,
  ];
  for (const { a, name } of objects) {
    // A mask's box is the mask's own, whatever box was stored beside it.
    const [xmin, ymin, xmax, ymax] = vocBox(a.mask ? toBbox(a.mask) : a.bbox, input.width, input.height);
    lines.push(
      '  <object>',
      `    <name>${escapeXml(name)}</name>`,
      '    <pose>Unspecified</pose>',
      '    <truncated>0</truncated>',
      `    <difficult>${a.crowd ? 1 : 0}</difficult>`,
      '    <bndbox>',
      `      <xmin>${xmin}</xmin>`,
      `      <ymin>${ymin}</ymin>`,
      `      <xmax>${xmax}</xmax>`,
      `      <ymax>${ymax}</ymax>`,
      '    </bndbox>',
      '  </object>',
    );
  }
  lines.push('</annotation>');
  return `${lines.join('\n')}\n`;
}

/** [x, y, w, h] in continuous pixels -> VOC's 1-based inclusive pixel box, rounded outward, inside the image. */
export function vocBox([x, y, w, h]: readonly number[], width: number, height: number): [xmin: number, ymin: number, xmax: number, ymax: number] {
  // A hair of float noise must not push a whole-pixel box out by one.
  const floor = (v: number) => Math.floor(v + 1e-9);
  const ceil = (v: number) => Math.ceil(v - 1e-9);
  const xmin = Math.min(Math.max(floor(x!), 0), width - 1) + 1;
  const ymin = Math.min(Math.max(floor(y!), 0), height - 1) + 1;
  const xmax = Math.max(Math.min(ceil(x! + w!), width), xmin);
  const ymax = Math.max(Math.min(ceil(y! + h!), height), ymin);
  return [xmin, ymin, xmax, ymax];
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** CVAT's labelmap.txt: which colour each class has in SegmentationClass (`name:r,g,b::`), background first. */
export function vocLabelMap(names: readonly string[]): string {
  const colour = (i: number) => COLOUR_MAP[i]!.join(',');
  return ['# label:color_rgb:parts:actions', `background:${colour(0)}::`, ...names.map((n, i) => `${n}:${colour(i + 1)}::`)].join('\n') + '\n';
}
