// Each tool headless: pointer sequences in, the state it passes through and the diffs it saves out.
import { describe, expect, it } from 'vitest';
import { imagePoint, screenPoint } from '../../../app/geometry/points.js';
import { decode } from '../../../app/geometry/rle.js';
import { AnnotationId, CategoryId, type Annotation } from '../../../app/model/index.js';
import { documentOf, H, prediction, rectMask, twoPredictions, W } from '../fixtures.test-support.js';
import { BoxTool, BrushTool, PolygonTool, SelectTool, VertexTool, type Tool, type ToolContext, type ToolPointer } from './index.js';
import { countSet } from '../mask-ops.js';

const big = AnnotationId('big');
const small = AnnotationId('small');

/** A context at `scale` screen pixels per image pixel, with a selection the tool can change. */
function setup(annotations: Annotation[] = twoPredictions(), { scale = 10, visible = (_: Annotation): boolean => true, category = CategoryId(2) as CategoryId | null } = {}) {
  const { doc, saved } = documentOf(annotations);
  const said: string[] = [];
  /** New instances waiting for a class (a project without classes). */
  const asked: ((category: CategoryId) => void)[] = [];
  const ctx: ToolContext & { selection: readonly AnnotationId[] } = {
    document: doc,
    selection: [],
    select(ids) {
      this.selection = [...ids];
    },
    activeCategory: () => category,
    withClass(make) {
      if (category !== null) make(category);
      else asked.push(make);
    },
    brushRadius: () => 2,
    pixelSize: () => 1 / scale,
    isVisible: visible,
    isPickable: visible,
    say: (m) => said.push(m),
  };
  const at = (x: number, y: number, mods: Partial<ToolPointer> = {}): ToolPointer => ({
    image: imagePoint(x, y), screen: screenPoint(x * scale, y * scale), shift: false, alt: false, mod: false, ...mods,
  });
  /** Press at the first point, move through the rest, release at the last; the states passed through. */
  const gesture = (tool: Tool, points: [number, number][], mods: Partial<ToolPointer> = {}): string[] => {
    const states: string[] = [];
    tool.pointerDown(at(...points[0]!, mods));
    states.push(tool.state.name);
    for (const p of points.slice(1)) {
      tool.pointerMove(at(...p, mods));
      states.push(tool.state.name);
    }
    tool.pointerUp(at(...points.at(-1)!, mods));
    states.push(tool.state.name);
    return states;
  };
  return { doc, saved, ctx, at, gesture, said, asked };
}

describe('select tool', () => {
  it('a click selects the topmost instance; clicks at the same spot cycle through the ones under it', () => {
    const { ctx, gesture } = setup();
    const tool = new SelectTool(ctx);
    const click = (x: number, y: number) => (gesture(tool, [[x, y]]), ctx.selection);
    expect(click(7, 7)).toEqual(['small']);
    expect(click(7, 7)).toEqual(['big']);
    expect(click(7, 7)).toEqual(['small']);
    expect(click(15, 15)).toEqual(['big']);
    expect(click(35, 25)).toEqual([]);
  });

  it('a press that moves less than the drag distance on screen is still a click', () => {
    const { ctx, gesture, saved } = setup(twoPredictions(), { scale: 10 });
    const tool = new SelectTool(ctx);
    ctx.select([big]);
    expect(gesture(tool, [[15, 15], [15.2, 15.1]])).toEqual(['pointing', 'pointing', 'idle']);
    expect(saved).toEqual([]);
    expect(ctx.selection).toEqual(['big']);
  });

  it('Shift- or Ctrl-click adds an instance to the selection and takes it out again', () => {
    const { ctx, gesture } = setup();
    const tool = new SelectTool(ctx);
    gesture(tool, [[15, 15]]);
    gesture(tool, [[7, 7]], { shift: true });
    expect(ctx.selection).toEqual(['big', 'small']);
    gesture(tool, [[15, 15]], { mod: true });
    expect(ctx.selection).toEqual(['small']);
  });

  it('dragging the selection moves it: pointing -> translating -> idle, one saved edit', async () => {
    const { ctx, gesture, doc, saved } = setup();
    const tool = new SelectTool(ctx);
    ctx.select([small]);
    expect(gesture(tool, [[7, 7], [9, 8], [10, 9]])).toEqual(['pointing', 'translating', 'translating', 'idle']);
    expect(doc.get(small)!.bbox).toEqual([8, 7, 5, 5]);
    await doc.whenSaved();
    expect(saved).toHaveLength(1);
    expect(saved[0]!.updated.map((u) => [u.before.bbox, u.after.bbox])).toEqual([[[5, 5, 5, 5], [8, 7, 5, 5]]]);
  });

  it('shows the moved boxes while translating, and Escape drops the move', () => {
    const { ctx, at, doc } = setup();
    const tool = new SelectTool(ctx);
    ctx.select([small]);
    tool.pointerDown(at(7, 7));
    tool.pointerMove(at(12, 7));
    expect(tool.preview()).toEqual({ kind: 'transform', boxes: [[10, 5, 5, 5]], handles: null });
    expect(tool.key('Escape')).toBe(true);
    expect(tool.state.name).toBe('idle');
    tool.pointerUp(at(12, 7));
    expect(doc.get(small)!.bbox).toEqual([5, 5, 5, 5]);
    expect(doc.canUndo).toBe(false);
  });

  it('a drag that starts on an unselected instance selects it and moves it', () => {
    const { ctx, gesture, doc } = setup();
    const tool = new SelectTool(ctx);
    gesture(tool, [[15, 15], [17, 15]]);
    expect(ctx.selection).toEqual(['big']);
    expect(doc.get(big)!.bbox).toEqual([2, 0, 20, 20]);
  });

  it('a drag on a resize handle resizes: pointing_handle -> resizing -> idle; the mask is clipped, not stretched', () => {
    const { ctx, gesture, doc } = setup();
    const tool = new SelectTool(ctx);
    ctx.select([big]);
    expect(tool.preview()).toEqual({ kind: 'transform', boxes: [], handles: [0, 0, 20, 20] });
    // The bottom-right corner of big, at (20, 20), dragged in to (12, 25).
    expect(gesture(tool, [[20, 20], [16, 22], [12, 25]])).toEqual(['pointing_handle', 'resizing', 'resizing', 'idle']);
    const a = doc.get(big)!;
    expect(a.bbox).toEqual([0, 0, 12, 25]);
    expect(countSet(doc.mask(big)!)).toBe(12 * 20);
  });

  it('Shift while resizing scales the mask with the box', () => {
    const { ctx, gesture, doc } = setup();
    const tool = new SelectTool(ctx);
    ctx.select([big]);
    gesture(tool, [[20, 20], [10, 10]], { shift: true });
    expect(doc.get(big)!.bbox).toEqual([0, 0, 10, 10]);
    expect(countSet(doc.mask(big)!)).toBe(100);
  });

  it('an edge handle moves one side only', () => {
    const { ctx, gesture, doc } = setup();
    const tool = new SelectTool(ctx);
    ctx.select([big]);
    gesture(tool, [[0, 10], [4, 13]]); // the west handle
    expect(doc.get(big)!.bbox).toEqual([4, 0, 16, 20]);
  });

  it('a drag on nothing draws a marquee that selects the instances it meets; Escape restores the selection', () => {
    const { ctx, gesture, at } = setup([...twoPredictions(), prediction('far', rectMask(30, 22, 36, 28), 0.7, [30, 22, 6, 6])]);
    const tool = new SelectTool(ctx);
    expect(gesture(tool, [[25, 29], [29, 25], [32, 24]])).toEqual(['pointing', 'marquee', 'marquee', 'idle']);
    expect(ctx.selection).toEqual(['far']);
    gesture(tool, [[38, 2], [8, 8]], { shift: true });
    expect(ctx.selection).toEqual(['far', 'big', 'small']);
    ctx.select([]);
    tool.pointerDown(at(25, 29));
    tool.pointerMove(at(2, 2));
    expect(tool.preview()).toEqual({ kind: 'marquee', box: [2, 2, 23, 27] });
    expect(ctx.selection).toEqual(['big', 'small']);
    tool.key('Escape');
    expect(ctx.selection).toEqual([]);
  });

  it('hidden instances cannot be picked; a mask reaching past its box is picked there', () => {
    const hidden = setup(twoPredictions(), { visible: (a) => a.id !== 'small' });
    hidden.gesture(new SelectTool(hidden.ctx), [[7, 7]]);
    expect(hidden.ctx.selection).toEqual(['big']);
    const wide = setup([prediction('wide', rectMask(5, 5, 14, 10), 0.9, [5, 5, 6, 5])]);
    wide.gesture(new SelectTool(wide.ctx), [[13, 7]]);
    expect(wide.ctx.selection).toEqual(['wide']);
  });
});

describe('box tool', () => {
  it('a drag adds a human box of the active class and selects it: pointing -> drawing -> idle; a click adds nothing', async () => {
    const { ctx, gesture, doc, saved } = setup([]);
    const tool = new BoxTool(ctx);
    const states: string[] = [];
    tool.pointerDown(setup([]).at(30, 20));
    states.push(tool.state.name);
    tool.pointerMove(setup([]).at(25, 10));
    states.push(tool.state.name);
    expect(tool.preview()).toEqual({ kind: 'box', box: [25, 10, 5, 10] });
    tool.pointerUp(setup([]).at(22, 8));
    states.push(tool.state.name);
    expect(states).toEqual(['pointing', 'drawing', 'idle']);
    expect(doc.annotations).toEqual([expect.objectContaining({ bbox: [22, 8, 8, 12], mask: null, categoryId: 2, origin: 'human', score: null })]);
    expect(ctx.selection).toEqual([doc.annotations[0]!.id]);
    gesture(tool, [[5, 5], [5.1, 5]]);
    expect(doc.annotations).toHaveLength(1);
    await doc.whenSaved();
    expect(saved).toHaveLength(1);
  });

  it('with no class in the project the box waits for one, and is made with the class the person names', () => {
    const { ctx, gesture, doc, asked } = setup([], { category: null });
    gesture(new BoxTool(ctx), [[5, 5], [20, 20]]);
    expect(doc.annotations).toEqual([]);
    expect(asked).toHaveLength(1);
    asked[0]!(CategoryId(7));
    expect(doc.annotations).toEqual([expect.objectContaining({ bbox: [5, 5, 15, 15], categoryId: 7 })]);
    expect(ctx.selection).toEqual([doc.annotations[0]!.id]);
  });
});

describe('polygon tool', () => {
  it('clicks add vertices, a click on the first closes into a mask; Backspace drops a vertex; Enter is its own', () => {
    const { ctx, at, doc } = setup([]);
    const tool = new PolygonTool(ctx);
    expect(tool.key('Enter')).toBe(false); // idle: Enter is the review's
    for (const [x, y] of [[10, 10], [30, 10], [33, 33], [30, 20]]) tool.pointerDown(at(x!, y!));
    expect(tool.state).toMatchObject({ name: 'drawing', points: { length: 4 } });
    expect(tool.key('Backspace')).toBe(true);
    tool.pointerDown(at(10, 20));
    tool.pointerDown(at(10.3, 10.3)); // within a few screen pixels of the first vertex: close
    expect(tool.state.name).toBe('idle');
    const [a] = doc.annotations;
    expect(a).toMatchObject({ origin: 'human', categoryId: 2 });
    expect(ctx.selection).toEqual([a!.id]);
    expect(a!.bbox[1] + a!.bbox[3]).toBeLessThanOrEqual(H);
    const mask = decode(a!.mask!);
    expect(mask.data[15 * W + 20]).toBe(1);
    expect(mask.data[5 * W + 5]).toBe(0);
  });

  it('Enter with fewer than three points says so and keeps drawing; Escape drops it all', () => {
    const { ctx, at, said, doc } = setup([]);
    const tool = new PolygonTool(ctx);
    tool.pointerDown(at(1, 1));
    tool.pointerDown(at(9, 1));
    expect(tool.key('Enter')).toBe(true);
    expect(said).toHaveLength(1);
    expect(tool.state.name).toBe('drawing');
    expect(tool.key('Escape')).toBe(true);
    expect(tool.state.name).toBe('idle');
    expect(doc.annotations).toEqual([]);
  });
});

describe('brush and eraser', () => {
  it('paint onto the selection and erase from it, one undo step per stroke', () => {
    const { ctx, gesture, doc } = setup();
    ctx.select([small]);
    expect(gesture(new BrushTool(ctx, false), [[12, 7], [16, 7], [20, 7]])).toEqual(['painting', 'painting', 'painting', 'idle']);
    expect(doc.mask(small)!.data[7 * W + 19]).toBe(1);
    expect(doc.get(small)!.bbox[2]).toBeGreaterThan(12);
    gesture(new BrushTool(ctx, true), [[7, 7]]);
    expect(doc.mask(small)!.data[7 * W + 7]).toBe(0);
    doc.undo();
    expect(doc.mask(small)!.data[7 * W + 7]).toBe(1);
    doc.undo();
    expect(doc.get(small)!.bbox).toEqual([5, 5, 5, 5]);
  });

  it('the brush with nothing selected draws a new instance; the eraser draws nothing', () => {
    const { ctx, gesture, doc } = setup([]);
    gesture(new BrushTool(ctx, true), [[20, 15], [25, 15]]);
    expect(doc.annotations).toHaveLength(0);
    gesture(new BrushTool(ctx, false), [[20, 15], [25, 15]]);
    expect(doc.annotations).toHaveLength(1);
    expect(ctx.selection).toEqual([doc.annotations[0]!.id]);
  });

  it('shows where it would paint while hovering', () => {
    const { ctx, at } = setup([]);
    const brush = new BrushTool(ctx, false);
    brush.pointerMove(at(3, 4));
    expect(brush.preview()).toEqual({ kind: 'brush', at: { x: 3, y: 4 }, radius: 2, erase: false });
  });
});

describe('vertex tool', () => {
  const square = () => [prediction('sq', rectMask(10, 10, 20, 20), 0.9, [10, 10, 10, 10])];

  it('dragging a vertex reshapes the mask: idle -> dragging -> idle; Alt-click deletes one', () => {
    const { ctx, gesture, doc, at } = setup(square());
    ctx.select([AnnotationId('sq')]);
    const tool = new VertexTool(ctx);
    const outline = tool.outline();
    expect(outline).toHaveLength(1);
    const corner = outline[0]!.reduce((best, p) => (p.x + p.y > best.x + best.y ? p : best));
    expect(gesture(tool, [[corner.x, corner.y], [30, 28]])).toEqual(['dragging', 'dragging', 'idle']);
    const a = doc.get(AnnotationId('sq'))!;
    expect(a.origin).toBe('model-edited');
    expect(a.bbox[0] + a.bbox[2]).toBeGreaterThan(27);
    const before = tool.outline()[0]!.length;
    const first = tool.outline()[0]![0]!;
    tool.pointerDown(at(first.x, first.y, { alt: true }));
    expect(tool.outline()[0]!.length).toBe(before - 1);
  });

  it('a press on an edge inserts a vertex there and drags it', () => {
    const { ctx, gesture, doc } = setup(square());
    ctx.select([AnnotationId('sq')]);
    const tool = new VertexTool(ctx);
    gesture(tool, [[15, 10], [15, 2]]);
    const a = doc.get(AnnotationId('sq'))!;
    expect(a.bbox[1]).toBeLessThanOrEqual(3);
    expect(decode(a.mask!).data[5 * W + 15]).toBe(1);
    expect(decode(a.mask!).data[5 * W + 11]).toBe(0);
  });

  it('keeps a hole of the mask when an outer vertex moves', () => {
    const ring = rectMask(10, 10, 20, 20);
    for (let y = 13; y < 17; y++) for (let x = 13; x < 17; x++) ring.data[y * W + x] = 0;
    const { ctx, gesture, doc } = setup([prediction('ring', ring, 0.9, [10, 10, 10, 10])]);
    ctx.select([AnnotationId('ring')]);
    const tool = new VertexTool(ctx);
    const corner = tool.outline()[0]!.reduce((best, p) => (p.x + p.y > best.x + best.y ? p : best));
    gesture(tool, [[corner.x, corner.y], [26, 26]]);
    const mask = doc.mask(AnnotationId('ring'))!;
    expect(mask.data[15 * W + 15]).toBe(0);
    expect(mask.data[22 * W + 22]).toBe(1);
  });

  it('Delete over a vertex removes it', () => {
    const { ctx, doc, at } = setup(square());
    ctx.select([AnnotationId('sq')]);
    const tool = new VertexTool(ctx);
    const first = tool.outline()[0]![0]!;
    tool.pointerMove(at(first.x, first.y));
    expect(tool.state).toEqual({ name: 'idle', hover: { polygon: 0, vertex: 0 } });
    expect(tool.key('Delete')).toBe(true);
    expect(doc.canUndo).toBe(true);
  });
});
