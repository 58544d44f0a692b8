import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UndoStack } from '../../app/history/index.js';
import { decode } from '../../app/geometry/rle.js';
import { AnnotationId, CategoryId, type Annotation } from '../../app/model/index.js';
import { AnnotationDocument } from './document.js';
import { documentOf, H, image, prediction, rectMask, twoPredictions, W } from './fixtures.test-support.js';
import { clipMask, countSet, emptyMask, shiftMask } from './mask-ops.js';

const big = AnnotationId('big');
const small = AnnotationId('small');

describe('AnnotationDocument', () => {
  it('reclassifies a prediction as one saved, undoable step that makes it model-edited', async () => {
    const { doc, saved } = documentOf();
    doc.setCategory([big], CategoryId(3));
    expect(doc.get(big)).toMatchObject({ categoryId: 3, origin: 'model-edited', state: 'accepted' });
    expect(doc.unsaved).toBe(1);
    await doc.whenSaved();
    expect(doc.unsaved).toBe(0);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.updated[0]!.before).toMatchObject({ categoryId: 1, origin: 'model' });
    expect(saved[0]!.updated[0]!.after).toMatchObject({ categoryId: 3, origin: 'model-edited' });
    doc.undo();
    expect(doc.get(big)).toMatchObject({ categoryId: 1, origin: 'model', state: 'pending' });
    doc.redo();
    expect(doc.get(big)).toMatchObject({ categoryId: 3 });
    await doc.whenSaved();
    expect(saved.map((c) => c.updated[0]!.after.categoryId)).toEqual([3, 1, 3]);
  });

  it('marks a prediction as a crowd region and back, each an undoable saved edit', async () => {
    const { doc, saved } = documentOf();
    doc.setCrowd([big], true);
    expect(doc.get(big)).toMatchObject({ crowd: true, origin: 'model-edited', state: 'accepted' });
    doc.setCrowd([big], true);
    doc.setCrowd([big], false);
    expect(doc.get(big)).not.toHaveProperty('crowd');
    doc.undo();
    expect(doc.get(big)).toMatchObject({ crowd: true });
    await doc.whenSaved();
    expect(saved.map((c) => c.updated[0]!.after.crowd ?? false)).toEqual([true, false, true]);
  });

  it('deletes and restores with undo, saving the removal and the re-add', async () => {
    const { doc, saved } = documentOf();
    doc.remove([small]);
    expect(doc.annotations.map((a) => a.id)).toEqual(['big']);
    doc.undo();
    expect(doc.annotations.map((a) => a.id).sort()).toEqual(['big', 'small']);
    await doc.whenSaved();
    expect(saved.map((c) => [c.added.length, c.removed.length])).toEqual([[0, 1], [1, 0]]);
  });

  it('accepts only pending predictions at or above the threshold', () => {
    const { doc } = documentOf();
    expect(doc.acceptAbove(0.5)).toBe(1);
    expect(doc.annotations.map((a) => a.state)).toEqual(['accepted', 'pending']);
    expect(doc.get(big)!.origin).toBe('model');
  });

  it('paintMask sets (brush) or clears (eraser) the painted pixels, and only those, reading only the box given', () => {
    const painting = fc.record({
      x: fc.integer({ min: -3, max: W }), y: fc.integer({ min: -3, max: H }), w: fc.integer({ min: 1, max: 16 }), h: fc.integer({ min: 1, max: 16 }),
      bits: fc.uint8Array({ minLength: 256, maxLength: 256, max: 1 }), value: fc.constantFrom(0 as const, 1 as const),
    });
    fc.assert(fc.property(painting, ({ x, y, w, h, bits, value }) => {
      const { doc } = documentOf();
      const before = doc.mask(big)!;
      // A crop at (x, y), clipped to the image, with random pixels set; the box around them is what paintMask reads.
      const cx = Math.max(0, x);
      const cy = Math.max(0, y);
      const cw = Math.max(0, Math.min(W, x + w) - cx);
      const ch = Math.max(0, Math.min(H, y + h) - cy);
      const crop = { width: cw, height: ch, data: bits.slice(0, cw * ch), x: cx, y: cy };
      const expected = before.data.map((v, i) => {
        const [px, py] = [i % W, Math.floor(i / W)];
        const inside = px >= cx && px < cx + cw && py >= cy && py < cy + ch;
        return inside && crop.data[(py - cy) * cw + (px - cx)] ? value : v;
      });
      doc.paintMask(big, crop, [cx, cy, cw, ch], value);
      // 'big' covers 400 pixels: a crop of at most 16 x 16 never empties it.
      expect(doc.mask(big)!.data).toEqual(expected);
      expect(doc.get(big)!.origin).toBe('model-edited');
    }));
  });

  it('paintMask gives a box-only instance its first mask with the brush; the eraser leaves it alone', () => {
    const { doc } = documentOf([prediction('box', null, 0.9, [2, 2, 6, 6])]);
    const id = AnnotationId('box');
    const crop = { width: 2, height: 2, data: Uint8Array.of(1, 1, 0, 1), x: 3, y: 4 };
    doc.paintMask(id, crop, [3, 4, 2, 2], 0);
    expect(doc.get(id)!.mask).toBeNull();
    doc.paintMask(id, crop, [3, 4, 2, 2], 1);
    expect(countSet(doc.mask(id)!)).toBe(3);
    expect(doc.get(id)!.bbox).toEqual([3, 4, 2, 2]);
  });

  it('an eraser that empties a mask removes the instance', () => {
    const { doc } = documentOf();
    doc.setMask(small, emptyMask(W, H));
    expect(doc.get(small)).toBeUndefined();
  });

  it('keeps the undo history it is given, and clears it when a step no longer fits', () => {
    const history = new UndoStack<Annotation>();
    const open = (annotations: readonly Annotation[]) => new AnnotationDocument({ image, annotations, save: async () => {}, newId: () => AnnotationId('n'), history });
    const first = open(twoPredictions());
    first.remove([small]);
    // The same image opened again, with what the store now holds: the step can still be undone.
    const reopened = open(first.annotations);
    expect(reopened.undo()).toBe(true);
    expect(reopened.annotations.map((a) => a.id).sort()).toEqual(['big', 'small']);
    // Opened again after something else removed 'big': a step about 'big' no longer fits.
    reopened.remove([big]);
    const changed = open([prediction('big', rectMask(0, 0, 20, 20), 0.9, [0, 0, 20, 20])]);
    expect(changed.undo()).toBe(false);
    expect(changed.notice).toMatch(/undo history was cleared/);
    expect(changed.canUndo || changed.canRedo).toBe(false);
  });

  it('reports a failed save and keeps the local edit', async () => {
    const doc = new AnnotationDocument({ image, annotations: [], save: async () => { throw new Error('disk full'); }, newId: () => AnnotationId('x') });
    let changes = 0;
    doc.onChange(() => changes++);
    doc.add({ categoryId: CategoryId(1), bbox: [1, 1, 3, 3], mask: null });
    await doc.whenSaved();
    expect(doc.saveError?.message).toBe('disk full');
    expect(doc.annotations).toHaveLength(1);
    expect(changes).toBe(2); // the edit, then the failure
  });
});

describe('moving and resizing boxes', () => {
  it('moves instances together with their masks, by whole pixels, as one step', async () => {
    const { doc, saved } = documentOf();
    doc.translate([big, small], 5.4, 2.6);
    expect(doc.get(small)!.bbox).toEqual([10, 8, 5, 5]);
    expect(doc.get(big)!.bbox).toEqual([5, 3, 20, 20]);
    const mask = doc.mask(small)!;
    expect(countSet(mask)).toBe(25);
    expect(mask.data[8 * W + 10]).toBe(1);
    expect(mask.data[5 * W + 5]).toBe(0);
    expect(doc.get(small)!.origin).toBe('model-edited');
    await doc.whenSaved();
    expect(saved).toHaveLength(1);
    expect(saved[0]!.updated).toHaveLength(2);
  });

  it('keeps a moved selection inside the image', () => {
    const { doc } = documentOf();
    doc.translate([big], 100, -7);
    expect(doc.get(big)!.bbox).toEqual([20, 0, 20, 20]);
    expect(countSet(doc.mask(big)!)).toBe(400);
  });

  it('moves a box-only instance by fractions of a pixel', () => {
    const { doc } = documentOf([prediction('box', null, 0.8, [2, 2, 10, 10])]);
    doc.translate([AnnotationId('box')], 0.25, 1.5);
    expect(doc.get(AnnotationId('box'))!.bbox).toEqual([2.25, 3.5, 10, 10]);
  });

  it('resizing keeps the mask as it is and clips it to the new box', () => {
    const { doc } = documentOf();
    doc.resize(big, [0, 0, 10, 30]);
    const a = doc.get(big)!;
    expect(a.bbox).toEqual([0, 0, 10, 30]);
    const mask = doc.mask(big)!;
    expect(countSet(mask)).toBe(10 * 20);
    expect(mask.data[19 * W + 9]).toBe(1);
    expect(mask.data[25 * W + 5]).toBe(0); // the box grew down; the mask did not stretch
    expect(mask.data[5 * W + 12]).toBe(0);
  });

  it('resizing with the scale option stretches the mask to the new box', () => {
    const { doc } = documentOf();
    doc.resize(big, [0, 0, 10, 30], { scaleMask: true });
    const mask = doc.mask(big)!;
    expect(countSet(mask)).toBe(10 * 30);
    expect(mask.data[25 * W + 5]).toBe(1);
  });

  it('a box clipped clear of its mask keeps the box, without a mask', () => {
    const { doc } = documentOf();
    doc.resize(small, [20, 20, 5, 5]);
    expect(doc.get(small)).toMatchObject({ bbox: [20, 20, 5, 5], mask: null, origin: 'model-edited' });
    doc.undo();
    expect(countSet(doc.mask(small)!)).toBe(25);
  });

  it('a resize to the same box, or to nothing, is no edit', () => {
    const { doc } = documentOf();
    doc.resize(big, [0, 0, 20, 20]);
    doc.resize(big, [50, 50, 10, 10]);
    expect(doc.canUndo).toBe(false);
  });
});

describe('mask ops for boxes', () => {
  const maskArb = fc.tuple(fc.integer({ min: 0, max: W - 1 }), fc.integer({ min: 0, max: H - 1 }), fc.integer({ min: 1, max: W }), fc.integer({ min: 1, max: H }))
    .map(([x, y, w, h]) => rectMask(x, y, Math.min(W, x + w), Math.min(H, y + h)));

  it('shifting there and back loses only what left the image', () => {
    fc.assert(fc.property(maskArb, fc.integer({ min: -W, max: W }), fc.integer({ min: -H, max: H }), (mask, dx, dy) => {
      const back = shiftMask(shiftMask(mask, dx, dy), -dx, -dy);
      for (let i = 0; i < back.data.length; i++) if (back.data[i]) expect(mask.data[i]).toBe(1);
      if (dx === 0 && dy === 0) expect(back.data).toEqual(mask.data);
      expect(countSet(shiftMask(mask, dx, dy))).toBe(countSet(back));
    }));
  });

  it('clipping keeps exactly the pixels whose centre is in the box', () => {
    fc.assert(fc.property(maskArb, fc.tuple(fc.double({ min: -5, max: 45, noNaN: true }), fc.double({ min: -5, max: 35, noNaN: true }), fc.double({ min: 0, max: 40, noNaN: true }), fc.double({ min: 0, max: 30, noNaN: true })), (mask, box) => {
      const clipped = clipMask(mask, box);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const inside = x + 0.5 >= box[0] && x + 0.5 <= box[0] + box[2] && y + 0.5 >= box[1] && y + 0.5 <= box[1] + box[3];
          expect(clipped.data[y * W + x]).toBe(inside ? mask.data[y * W + x] : 0);
        }
      }
    }));
  });

  it('decodes what it stores', () => {
    const { doc } = documentOf();
    doc.translate([small], 1, 1);
    expect(decode(doc.get(small)!.mask!).data).toEqual(doc.mask(small)!.data);
  });
});
