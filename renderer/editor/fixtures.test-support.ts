// Small annotated images for the editor's unit tests: a 40 x 30 image and rectangular masks on it.
import { encode, type BitMask } from '../../app/geometry/rle.js';
import { AnnotationId, CategoryId, ImageId, ModelId, type Annotation, type Bbox, type ImageRecord } from '../../app/model/index.js';
import { AnnotationDocument } from './document.js';
import { emptyMask } from './mask-ops.js';
import type { Diff } from '../../app/history/diff.js';

export const W = 40;
export const H = 30;
export const image: ImageRecord = { id: ImageId(1), path: 'a.png', width: W, height: H, orientation: 1, hash: 'h', status: 'predicted', error: null, missing: false };

/** A mask set on [x0, x1) x [y0, y1). */
export function rectMask(x0: number, y0: number, x1: number, y1: number): BitMask {
  const m = emptyMask(W, H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m.data[y * W + x] = 1;
  return m;
}

export function prediction(id: string, mask: BitMask | null, score: number, bbox: Bbox): Annotation {
  return {
    id: AnnotationId(id), imageId: image.id, categoryId: CategoryId(1), bbox, mask: mask ? encode(mask) : null, score,
    origin: 'model', modelId: ModelId(1), state: 'pending',
  };
}

/** 'big' covers [0, 20)^2 and 'small' [5, 10)^2 on top of it. */
export const twoPredictions = (): Annotation[] => [
  prediction('big', rectMask(0, 0, 20, 20), 0.9, [0, 0, 20, 20]),
  prediction('small', rectMask(5, 5, 10, 10), 0.4, [5, 5, 5, 5]),
];

/** A document over `annotations` that records what it saves. */
export function documentOf(annotations: Annotation[] = twoPredictions()): { doc: AnnotationDocument; saved: Diff<Annotation>[] } {
  const saved: Diff<Annotation>[] = [];
  let n = 0;
  const doc = new AnnotationDocument({ image, annotations, save: async (d) => void saved.push(d), newId: () => AnnotationId(`new-${++n}`) });
  return { doc, saved };
}
