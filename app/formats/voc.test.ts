import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { polygonsToRle } from '../geometry/polygon.js';
import { decode, encode, toBbox } from '../geometry/rle.js';
import { CategoryId } from '../model/ids.js';
import type { Annotation } from '../model/types.js';
import { CATEGORIES, CATEGORY_NAMES, generatedImage, type GeneratedImage } from './exchange.test-support.js';
import { decodeIndexedPng } from './png.js';
import { buildVocImage, vocBox, vocColourMap, vocLabelMap, vocLimitProblem, VOC_VOID } from './voc.js';

const classIndex = new Map(CATEGORIES.map((c, i) => [c.id, i + 1]));

function build(image: GeneratedImage) {
  return buildVocImage({ id: 'a/b', fileName: 'b.png', path: 'a/b.png', ...image, categoryNames: CATEGORY_NAMES, classIndex });
}

const unescape = (s: string) => s.replace(/&(lt|gt|amp|apos|quot);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e]!);

/** The XML's objects, read back with a pattern (the layout is ours; tools/formats checks it with a real XML parser). */
function xmlObjects(xml: string) {
  return [...xml.matchAll(/<object>([\s\S]*?)<\/object>/g)].map(([, body]) => {
    const field = (name: string) => unescape(new RegExp(`<${name}>([^<]*)</${name}>`).exec(body!)![1]!);
    return { name: field('name'), difficult: Number(field('difficult')), box: ['xmin', 'ymin', 'xmax', 'ymax'].map((k) => Number(field(k))) };
  });
}

describe('Pascal VOC round trip: read(write(x)) = x up to its limits', () => {
  // Limits: boxes become whole pixels (1-based, inclusive, rounded outward), where masks overlap the smaller
  // object keeps the pixels, crowd regions are void (255) in both maps and `difficult` objects in the XML.
  it('gives back each object with its class and box, its mask where no smaller mask covers it, and crowd as void', () => {
    fc.assert(
      fc.property(generatedImage(), (image) => {
        const voc = build(image);
        const objects = xmlObjects(voc.xml);
        const withMask = image.annotations.filter((a) => a.mask !== null && !a.crowd);
        const rest = image.annotations.filter((a) => a.mask === null || a.crowd);
        const order = [...withMask, ...rest];
        expect(objects).toHaveLength(image.annotations.length);
        order.forEach((a, i) => {
          expect(objects[i]!.name).toBe(CATEGORY_NAMES.get(a.categoryId));
          expect(objects[i]!.difficult).toBe(a.crowd ? 1 : 0);
          const [xmin, ymin, xmax, ymax] = objects[i]!.box as [number, number, number, number];
          // Whole pixels, 1-based inclusive: exact for masks' boxes, rounded outward (never inward) for drawn boxes.
          if (a.mask) expect([xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]).toEqual(toBbox(a.mask));
          else {
            expect(xmin - 1).toBeLessThanOrEqual(a.bbox[0] + 1e-9);
            expect(xmax).toBeGreaterThanOrEqual(a.bbox[0] + a.bbox[2] - 1e-9);
            expect(xmax - (a.bbox[0] + a.bbox[2])).toBeLessThan(1);
          }
        });
        if (withMask.length + rest.filter((a) => a.mask).length === 0) {
          expect(voc.segmentationObject).toBeNull();
          return;
        }
        const objectMap = decodeIndexedPng(voc.segmentationObject!);
        const classMap = decodeIndexedPng(voc.segmentationClass!);
        expect(objectMap.palette?.slice(0, 3)).toEqual([[0, 0, 0], [128, 0, 0], [0, 128, 0]]);
        const crowdBits = image.annotations.filter((a) => a.crowd && a.mask).map((a) => decode(a.mask!).data);
        const bits = withMask.map((a) => decode(a.mask!).data);
        const areas = bits.map((b) => b.reduce((n, v) => n + v, 0));
        for (let p = 0; p < image.width * image.height; p++) {
          const owners = bits.map((b, i) => (b[p] ? i : -1)).filter((i) => i >= 0);
          const value = objectMap.values[p]!;
          if (crowdBits.some((b) => b[p])) {
            expect(value).toBe(VOC_VOID);
            expect(classMap.values[p]).toBe(VOC_VOID);
          } else if (owners.length === 0) {
            expect(value).toBe(0);
            expect(classMap.values[p]).toBe(0);
          } else {
            // The smallest mask over the pixel owns it (ties: the later in the XML).
            const smallest = Math.min(...owners.map((i) => areas[i]!));
            expect(owners.filter((i) => areas[i] === smallest)).toContain(value - 1);
            expect(classMap.values[p]).toBe(classIndex.get(withMask[value - 1]!.categoryId));
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('counts overlapping pixels, given to the smaller object', () => {
    const big = polygonsToRle([[0, 0, 20, 0, 20, 20, 0, 20]], 20, 20);
    const small = polygonsToRle([[5, 5, 10, 5, 10, 10, 5, 10]], 20, 20);
    const annotation = (mask: typeof big, categoryId: number): Annotation =>
      ({ id: `a${categoryId}`, imageId: 1, categoryId: CategoryId(categoryId), bbox: toBbox(mask), mask, score: null, origin: 'human', modelId: null, state: 'accepted' }) as Annotation;
    const voc = build({ width: 20, height: 20, annotations: [annotation(small, 4), annotation(big, 1)] });
    expect(voc.overlapPixels).toBe(25);
    const objects = decodeIndexedPng(voc.segmentationObject!).values;
    expect(objects[7 * 20 + 7]).toBe(1);
    expect(objects[0]).toBe(2);
  });
});

describe('Pascal VOC files', () => {
  it('has the devkit colour map', () => {
    const map = vocColourMap();
    expect(map.slice(0, 6)).toEqual([[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128]]);
    expect(map[15]).toEqual([192, 128, 128]); // person
    expect(map[255]).toEqual([224, 224, 192]); // void
    expect(new Set(map.map((c) => c.join())).size).toBe(256);
  });

  it('writes the XML VOC tools read: size, segmented, escaped names, 1-based boxes', () => {
    const mask = encode({ width: 4, height: 3, data: new Uint8Array([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]) });
    const voc = buildVocImage({
      id: 'x',
      fileName: 'x & y.jpg',
      path: 'dir/x & y.jpg',
      width: 4,
      height: 3,
      annotations: [{ id: 'a', imageId: 1, categoryId: CategoryId(4), bbox: toBbox(mask), mask, score: null, origin: 'human', modelId: null, state: 'accepted' }] as never,
      categoryNames: CATEGORY_NAMES,
      classIndex,
    });
    expect(voc.xml).toContain('<filename>x &amp; y.jpg</filename>');
    expect(voc.xml).toContain('<folder>dir</folder>');
    expect(voc.xml).toContain('<size>\n    <width>4</width>\n    <height>3</height>\n    <depth>3</depth>\n  </size>\n  <segmented>1</segmented>');
    expect(voc.xml).toContain('<name>dog &amp; &quot;friends&quot; &lt;3&gt;</name>');
    expect(voc.xml).toContain('<xmin>2</xmin>\n      <ymin>1</ymin>\n      <xmax>3</xmax>\n      <ymax>2</ymax>');
  });

  it('rounds drawn boxes outward to whole pixels, inside the image', () => {
    expect(vocBox([0, 0, 10, 10], 10, 10)).toEqual([1, 1, 10, 10]);
    expect(vocBox([2.4, 3.6, 1.2, 0.1], 10, 10)).toEqual([3, 4, 4, 4]);
    expect(vocBox([-5, -5, 30, 30], 10, 10)).toEqual([1, 1, 10, 10]);
    expect(vocBox([0.1 + 0.2 - 0.3, 2, 3 + 1e-12, 4], 10, 10)).toEqual([1, 3, 3, 6]);
  });

  it('refuses more objects or classes than 8-bit label maps hold', () => {
    const mask = polygonsToRle([[0, 0, 2, 0, 2, 2]], 4, 4);
    const many = Array.from({ length: 255 }, (_, i) => ({ id: `${i}`, categoryId: CategoryId(1), mask, crowd: false }) as unknown as Annotation);
    expect(vocLimitProblem({ annotations: many, classIndex })).toBe("has 255 objects with masks; VOC's 8-bit SegmentationObject holds 254");
    expect(vocLimitProblem({ annotations: many.slice(0, 254), classIndex })).toBeNull();
    expect(vocLimitProblem({ annotations: many.slice(0, 1), classIndex: new Map([[CategoryId(1), 255]]) })).toMatch(/class number 255/);
  });

  it('writes a CVAT-style labelmap.txt with each class colour', () => {
    expect(vocLabelMap(['cat', 'dog'])).toBe('# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\n');
  });
});
