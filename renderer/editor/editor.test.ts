import { describe, expect, it } from 'vitest';
import { decode, encode, type BitMask } from '../../app/geometry/rle.js';
import type { AnnotationChanges } from '../../app/ipc/contract.js';
import { AnnotationId, CategoryId, ImageId, ModelId, type Annotation, type ImageRecord } from '../../app/model/index.js';
import { ImageEditor } from './image-editor.js';
import { UndoStack } from '../../app/history/index.js';
import { countSet, emptyMask, fillHoles, paintDisc } from './mask-ops.js';
import { actionFor, SHORTCUTS } from './shortcuts.js';
import { BoxTool, BrushTool, PolygonTool, SelectTool, VertexTool, type ToolContext } from './tools/index.js';

const W = 40;
const H = 30;
const image: ImageRecord = { id: ImageId(1), path: 'a.png', width: W, height: H, orientation: 1, hash: 'h', status: 'predicted', error: null, missing: false };

function rectMask(x0: number, y0: number, x1: number, y1: number): BitMask {
  const m = emptyMask(W, H);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m.data[y * W + x] = 1;
  return m;
}

function prediction(id: string, mask: BitMask, score: number, bbox: Annotation['bbox']): Annotation {
  return { id: AnnotationId(id), imageId: image.id, categoryId: CategoryId(1), bbox, mask: encode(mask), score, origin: 'model', modelId: ModelId(1), state: 'pending' };
}

function setup(annotations: Annotation[] = [
  prediction('big', rectMask(0, 0, 20, 20), 0.9, [0, 0, 20, 20]),
  prediction('small', rectMask(5, 5, 10, 10), 0.4, [5, 5, 5, 5]),
]) {
  const saved: AnnotationChanges[] = [];
  let n = 0;
  const editor = new ImageEditor({ image, annotations, save: async (c) => void saved.push(c), newId: () => AnnotationId(`new-${++n}`) });
  const ctx: ToolContext = { editor, activeCategory: () => CategoryId(2), brushRadius: () => 2, tolerance: () => 1.5, isVisible: () => true };
  return { editor, saved, ctx };
}

describe('ImageEditor', () => {
  it('reclassifies a prediction as one saved, undoable step that makes it model-edited', async () => {
    const { editor, saved } = setup();
    editor.setCategory([AnnotationId('big')], CategoryId(3));
    expect(editor.get(AnnotationId('big'))).toMatchObject({ categoryId: 3, origin: 'model-edited', state: 'accepted' });
    expect(editor.unsaved).toBe(1);
    await editor.whenSaved();
    expect(editor.unsaved).toBe(0);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.updated[0]!.before).toMatchObject({ categoryId: 1, origin: 'model' });
    expect(saved[0]!.updated[0]!.after).toMatchObject({ categoryId: 3, origin: 'model-edited' });
    editor.undo();
    expect(editor.get(AnnotationId('big'))).toMatchObject({ categoryId: 1, origin: 'model', state: 'pending' });
    editor.redo();
    expect(editor.get(AnnotationId('big'))).toMatchObject({ categoryId: 3 });
    await editor.whenSaved();
    expect(saved.map((c) => c.updated[0]!.after.categoryId)).toEqual([3, 1, 3]);
  });

  it('marks a prediction as a crowd region and back, each an undoable saved edit', async () => {
    const { editor, saved } = setup();
    const big = AnnotationId('big');
    editor.setCrowd([big], true);
    expect(editor.get(big)).toMatchObject({ crowd: true, origin: 'model-edited', state: 'accepted' });
    editor.setCrowd([big], true);
    editor.setCrowd([big], false);
    expect(editor.get(big)).not.toHaveProperty('crowd');
    editor.undo();
    expect(editor.get(big)).toMatchObject({ crowd: true });
    await editor.whenSaved();
    expect(saved.map((c) => c.updated[0]!.after.crowd ?? false)).toEqual([true, false, true]);
  });

  it('deletes and restores with undo, saving the removal and the re-add', async () => {
    const { editor, saved } = setup();
    editor.select(AnnotationId('small'));
    editor.remove([AnnotationId('small')]);
    expect(editor.annotations.map((a) => a.id)).toEqual(['big']);
    expect(editor.selection).toBeNull();
    editor.undo();
    expect(editor.annotations.map((a) => a.id).sort()).toEqual(['big', 'small']);
    await editor.whenSaved();
    expect(saved.map((c) => [c.added.length, c.removed.length])).toEqual([[0, 1], [1, 0]]);
  });

  it('accepts only pending predictions at or above the threshold', () => {
    const { editor } = setup();
    expect(editor.acceptAbove(0.5)).toBe(1);
    expect(editor.annotations.map((a) => a.state)).toEqual(['accepted', 'pending']);
    expect(editor.get(AnnotationId('big'))!.origin).toBe('model');
  });

  it('moves a box and its mask together', () => {
    const { editor } = setup();
    editor.setBox(AnnotationId('small'), [20, 10, 5, 5]);
    const a = editor.get(AnnotationId('small'))!;
    expect(a.bbox).toEqual([20, 10, 5, 5]);
    const mask = decode(a.mask!);
    expect(countSet(mask)).toBe(25);
    expect(mask.data[12 * W + 22]).toBe(1);
    expect(mask.data[7 * W + 7]).toBe(0);
  });

  it('an eraser that empties a mask removes the instance', () => {
    const { editor } = setup();
    editor.setMask(AnnotationId('small'), emptyMask(W, H));
    expect(editor.get(AnnotationId('small'))).toBeUndefined();
  });

  it('keeps the undo history it is given, and clears it when a step no longer fits', () => {
    const history = new UndoStack<Annotation>();
    const first = setup();
    const editor = new ImageEditor({ image, annotations: first.editor.annotations, save: async () => {}, newId: () => AnnotationId('n'), history });
    editor.remove([AnnotationId('small')]);
    // The same image opened again, with what the store now holds: the step can still be undone.
    const reopened = new ImageEditor({ image, annotations: editor.annotations, save: async () => {}, newId: () => AnnotationId('m'), history });
    expect(reopened.undo()).toBe(true);
    expect(reopened.annotations.map((a) => a.id).sort()).toEqual(['big', 'small']);
    // Opened again after something else removed 'big': redoing the removal of 'small' fits, undoing it again does too,
    // but a step about 'big' would not.
    reopened.remove([AnnotationId('big')]);
    const changed = new ImageEditor({ image, annotations: [prediction('big', rectMask(0, 0, 20, 20), 0.9, [0, 0, 20, 20])], save: async () => {}, newId: () => AnnotationId('k'), history });
    expect(changed.undo()).toBe(false);
    expect(changed.notice).toMatch(/undo history was cleared/);
    expect(changed.canUndo || changed.canRedo).toBe(false);
  });

  it('reports a failed save and keeps the local edit', async () => {
    const editor = new ImageEditor({ image, annotations: [], save: async () => { throw new Error('disk full'); }, newId: () => AnnotationId('x') });
    editor.add({ categoryId: CategoryId(1), bbox: [1, 1, 3, 3], mask: null });
    await editor.whenSaved();
    expect(editor.saveError?.message).toBe('disk full');
    expect(editor.annotations).toHaveLength(1);
  });
});

describe('tools', () => {
  it('select: repeated clicks on the same spot cycle through overlapping instances', () => {
    const { editor, ctx } = setup();
    const tool = new SelectTool(ctx);
    const click = (x: number, y: number) => (tool.down({ x, y }), tool.up({ x, y }), editor.selection);
    expect(click(7, 7)).toBe('small'); // topmost first
    expect(click(7, 7)).toBe('big');
    expect(click(7, 7)).toBe('small');
    expect(click(15, 15)).toBe('big');
    expect(click(35, 25)).toBeNull();
  });

  it('select: a mask reaching past its model box is still picked there', () => {
    const { editor, ctx } = setup([prediction('wide', rectMask(5, 5, 14, 10), 0.9, [5, 5, 6, 5])]);
    new SelectTool(ctx).down({ x: 13, y: 7 });
    expect(editor.selection).toBe('wide');
  });

  it('select: hidden instances cannot be picked', () => {
    const { editor, ctx } = setup();
    const tool = new SelectTool({ ...ctx, isVisible: (id) => id !== 'small' });
    tool.down({ x: 7, y: 7 });
    expect(editor.selection).toBe('big');
  });

  it('box: a drag adds a human box of the active class; a click adds nothing', () => {
    const { editor, ctx } = setup([]);
    const tool = new BoxTool(ctx);
    tool.down({ x: 30, y: 20 });
    tool.move({ x: 25, y: 10 });
    expect(tool.preview()).toEqual({ kind: 'box', x: 25, y: 10, w: 5, h: 10 });
    tool.up({ x: 22, y: 8 });
    expect(editor.annotations).toEqual([expect.objectContaining({ bbox: [22, 8, 8, 12], mask: null, categoryId: 2, origin: 'human', score: null })]);
    tool.down({ x: 5, y: 5 });
    tool.up({ x: 5.5, y: 5 });
    expect(editor.annotations).toHaveLength(1);
  });

  it('polygon: closing on the first vertex rasterises a mask; Backspace drops a vertex', () => {
    const { editor, ctx } = setup([]);
    const tool = new PolygonTool(ctx);
    for (const [x, y] of [[10, 10], [30, 10], [33, 33], [30, 20]]) tool.down({ x: x!, y: y! });
    expect(tool.key('Backspace')).toBe(true);
    tool.down({ x: 10, y: 20 });
    tool.down({ x: 10.5, y: 10.5 }); // near the first vertex: close
    expect(tool.vertexCount).toBe(0);
    const [a] = editor.annotations;
    expect(a).toMatchObject({ origin: 'human', categoryId: 2 });
    expect(a!.bbox[0]).toBeCloseTo(10, 0);
    expect(a!.bbox[2]).toBeGreaterThanOrEqual(20);
    expect(a!.bbox[1] + a!.bbox[3]).toBeLessThanOrEqual(H);
    const mask = decode(a!.mask!);
    expect(mask.data[15 * W + 20]).toBe(1);
    expect(mask.data[5 * W + 5]).toBe(0);
  });

  it('brush paints onto the selection, eraser removes from it, each stroke one step', () => {
    const { editor, ctx } = setup();
    editor.select(AnnotationId('small'));
    const brush = new BrushTool(ctx, false);
    brush.down({ x: 12, y: 7 });
    brush.move({ x: 16, y: 7 });
    brush.up({ x: 20, y: 7 });
    const painted = editor.mask(AnnotationId('small'))!;
    expect(painted.data[7 * W + 19]).toBe(1);
    expect(editor.get(AnnotationId('small'))!.bbox[2]).toBeGreaterThan(12);
    const eraser = new BrushTool(ctx, true);
    eraser.down({ x: 7, y: 7 });
    eraser.up({ x: 7, y: 7 });
    expect(editor.mask(AnnotationId('small'))!.data[7 * W + 7]).toBe(0);
    editor.undo();
    expect(editor.mask(AnnotationId('small'))!.data[7 * W + 7]).toBe(1);
    editor.undo();
    expect(editor.get(AnnotationId('small'))!.bbox).toEqual([5, 5, 5, 5]);
  });

  it('brush with nothing selected draws a new instance', () => {
    const { editor, ctx } = setup([]);
    const brush = new BrushTool(ctx, false);
    brush.down({ x: 20, y: 15 });
    brush.up({ x: 25, y: 15 });
    expect(editor.annotations).toHaveLength(1);
    expect(editor.selection).toBe(editor.annotations[0]!.id);
  });

  it('vertices: dragging a vertex reshapes the mask; Alt-click deletes one', () => {
    const { editor, ctx } = setup([prediction('sq', rectMask(10, 10, 20, 20), 0.9, [10, 10, 10, 10])]);
    editor.select(AnnotationId('sq'));
    const tool = new VertexTool(ctx);
    const outline = tool.outline();
    expect(outline).toHaveLength(1);
    const corner = outline[0]!.reduce((best, p) => (p.x + p.y > best.x + best.y ? p : best));
    tool.down(corner);
    tool.move({ x: 30, y: 28 });
    tool.up({ x: 30, y: 28 });
    const a = editor.get(AnnotationId('sq'))!;
    expect(a.origin).toBe('model-edited');
    expect(a.bbox[0] + a.bbox[2]).toBeGreaterThan(27);
    const before = tool.outline()[0]!.length;
    tool.down(tool.outline()[0]![0]!, { alt: true });
    expect(tool.outline()[0]!.length).toBe(before - 1);
    expect(editor.canUndo).toBe(true);
  });
});

describe('vertex tool edges', () => {
  it('a press on an edge inserts a vertex there and drags it', () => {
    const { editor, ctx } = setup([prediction('sq', rectMask(10, 10, 20, 20), 0.9, [10, 10, 10, 10])]);
    editor.select(AnnotationId('sq'));
    const tool = new VertexTool(ctx);
    const before = tool.outline()[0]!.length;
    // The middle of the top edge, pulled up: the square gets a roof.
    tool.down({ x: 15, y: 10 });
    tool.move({ x: 15, y: 2 });
    tool.up({ x: 15, y: 2 });
    expect(tool.outline()[0]!.length).toBeGreaterThanOrEqual(before);
    const a = editor.get(AnnotationId('sq'))!;
    expect(a.bbox[1]).toBeLessThanOrEqual(3);
    expect(decode(a.mask!).data[5 * W + 15]).toBe(1);
    expect(decode(a.mask!).data[5 * W + 11]).toBe(0);
  });
});

describe('vertex tool holes', () => {
  it('keeps a hole of the mask when an outer vertex moves', () => {
    const ring = rectMask(10, 10, 20, 20);
    for (let y = 13; y < 17; y++) for (let x = 13; x < 17; x++) ring.data[y * W + x] = 0;
    const { editor, ctx } = setup([prediction('ring', ring, 0.9, [10, 10, 10, 10])]);
    editor.select(AnnotationId('ring'));
    const tool = new VertexTool(ctx);
    const corner = tool.outline()[0]!.reduce((best, p) => (p.x + p.y > best.x + best.y ? p : best));
    tool.down(corner);
    tool.up({ x: 26, y: 26 });
    const mask = editor.mask(AnnotationId('ring'))!;
    expect(mask.data[15 * W + 15]).toBe(0);
    expect(mask.data[22 * W + 22]).toBe(1);
  });
});

describe('mask ops', () => {
  it('fillHoles fills enclosed gaps and leaves the outside alone', () => {
    const ring = rectMask(5, 5, 15, 15);
    for (let y = 8; y < 12; y++) for (let x = 8; x < 12; x++) ring.data[y * W + x] = 0;
    const filled = fillHoles(ring);
    expect(countSet(filled)).toBe(100);
    expect(filled.data[0]).toBe(0);
  });

  it('paintDisc clips at the image border', () => {
    const m = emptyMask(W, H);
    paintDisc(m, 0, 0, 3, 1);
    expect(m.data[0]).toBe(1);
    expect(countSet(m)).toBeGreaterThan(4);
  });
});

describe('shortcuts', () => {
  it('maps key presses to actions from the one table, with no key bound twice', () => {
    expect(actionFor({ key: 'z', ctrlKey: true })).toBe('edit.undo');
    expect(actionFor({ key: 'Z', ctrlKey: true, shiftKey: true })).toBe('edit.redo');
    expect(actionFor({ key: 'A', shiftKey: true })).toBe('instance.acceptAbove');
    expect(actionFor({ key: 'a' })).toBe('instance.accept');
    expect(actionFor({ key: '3' })).toBe('class.3');
    expect(actionFor({ key: '?', shiftKey: true })).toBe('help.toggle');
    const keys = SHORTCUTS.flatMap((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
