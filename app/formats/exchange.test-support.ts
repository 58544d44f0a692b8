// Generated projects for the format round-trip properties: images with masks of one or two convex parts (some
// touching the border), boxes without masks and crowd regions, in a few classes.
import fc from 'fast-check';
import { polygonsToRle, type Polygon } from '../geometry/polygon.js';
import { area, toBbox } from '../geometry/rle.js';
import { AnnotationId, CategoryId, ImageId } from '../model/ids.js';
import type { Annotation, Bbox, Category } from '../model/types.js';

export const CATEGORIES: Category[] = [
  { id: CategoryId(1), name: 'cat', color: '#ff0000' },
  { id: CategoryId(4), name: 'dog & "friends" <3>', color: '#00ff00' },
  { id: CategoryId(7), name: 'tree', color: '#0000ff' },
];
export const CATEGORY_NAMES = new Map(CATEGORIES.map((c) => [c.id, c.name]));

export interface GeneratedImage {
  readonly width: number;
  readonly height: number;
  readonly annotations: Annotation[];
}

/** A convex polygon: points at roughly even angles on an ellipse inside (or overlapping the edge of) the image. */
function convexPolygon(width: number, height: number): fc.Arbitrary<Polygon> {
  return fc
    .record({
      cx: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
      cy: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
      rx: fc.double({ min: 1.5, max: 25, noNaN: true }),
      ry: fc.double({ min: 1.5, max: 25, noNaN: true }),
      rotation: fc.double({ min: 0, max: Math.PI, noNaN: true }),
      jitter: fc.array(fc.double({ min: -0.4, max: 0.4, noNaN: true }), { minLength: 3, maxLength: 12 }),
    })
    .map(({ cx, cy, rx, ry, rotation, jitter }) =>
      jitter.flatMap((j, i) => {
        const a = ((i + j) * 2 * Math.PI) / jitter.length;
        const [ex, ey] = [rx * Math.cos(a), ry * Math.sin(a)];
        return [cx * width + ex * Math.cos(rotation) - ey * Math.sin(rotation), cy * height + ex * Math.sin(rotation) + ey * Math.cos(rotation)];
      }),
    );
}

let serial = 0;
const nextId = () => AnnotationId(`00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`);

/** One image with 1 to 6 annotations. */
export function generatedImage(options: { crowd?: boolean; boxes?: boolean } = {}): fc.Arbitrary<GeneratedImage> {
  return fc
    .record({ width: fc.integer({ min: 12, max: 90 }), height: fc.integer({ min: 12, max: 90 }) })
    .chain(({ width, height }) => {
      const part = convexPolygon(width, height);
      const instance = fc.record({
        category: fc.constantFrom(...CATEGORIES.map((c) => c.id)),
        kind: options.boxes === false ? fc.constant('mask' as const) : fc.constantFrom('mask' as const, 'mask' as const, 'box' as const),
        parts: fc.array(part, { minLength: 1, maxLength: 2 }),
        crowd: options.crowd === false ? fc.constant(false) : fc.boolean(),
        box: fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 9999 })),
      });
      return fc.record({ width: fc.constant(width), height: fc.constant(height), instances: fc.array(instance, { minLength: 1, maxLength: 6 }) });
    })
    .map(({ width, height, instances }) => {
      const annotations: Annotation[] = [];
      for (const i of instances) {
        let bbox: Bbox;
        let mask = null;
        if (i.kind === 'box') {
          // Two-decimal boxes inside the image, at least a hundredth of a pixel across.
          const x = (i.box[0] / 9999) * (width - 1);
          const y = (i.box[1] / 9999) * (height - 1);
          const w = Math.max(0.01, (i.box[2] / 9999) * (width - x));
          const h = Math.max(0.01, (i.box[3] / 9999) * (height - y));
          bbox = [round(x), round(y), Math.min(round(w), width - round(x)), Math.min(round(h), height - round(y))];
          if (bbox[2] <= 0 || bbox[3] <= 0) continue;
        } else {
          mask = polygonsToRle(i.parts, height, width);
          if (area(mask) === 0) continue;
          bbox = toBbox(mask);
        }
        annotations.push({
          id: nextId(),
          imageId: ImageId(1),
          categoryId: i.category,
          bbox,
          mask,
          score: null,
          origin: 'human',
          modelId: null,
          state: 'accepted',
          ...(i.crowd ? { crowd: true } : {}),
        });
      }
      return { width, height, annotations };
    })
    .filter((image) => image.annotations.length > 0);
}

const round = (v: number) => Math.round(v * 100) / 100;
