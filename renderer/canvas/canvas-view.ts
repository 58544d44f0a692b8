// The Konva stage: it draws what the review session holds and forwards pointer input to it, deciding nothing.
// Three layers, none listening (Konva builds no hit graph):
//  - the picture: the image (with mipmaps for big images) and one composite of every visible mask with its
//    outline (mask-composite.ts), both in image pixels under the camera's transform;
//  - the annotations: one shape that draws every box and label in screen pixels, batched by colour, so 250
//    instances cost a few canvas calls per frame; boxes have a dark halo so they stay visible on busy textures,
//    pending predictions are dashed with lighter masks and hollow labels, and labels never pile up (labels.ts:
//    all of them up to LABELS_FOR_ALL instances, else the selection's and the one under the pointer);
//  - the tool's preview (rubber bands, outlines, handles), hidden when empty.
// Pointer events go to the session in screen pixels (the canvas element's CSS pixels); which press is a click, a
// drag, a pan or a resize is the session's and its tools' to decide.
import Konva from 'konva';
import { imagePoint, screenPoint, type ImagePoint } from '../../app/geometry/points.js';
import type { Disposable } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Bbox, Category, ImageRecord } from '../../app/model/index.js';
import { toScreen } from '../editor/camera.js';
import { instanceLabel } from '../editor/labels.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { HANDLE_RADIUS, HANDLES, handlePoint, type Preview } from '../editor/tools/index.js';
import { DisposableStore, everyFrame, listen } from '../ui/dom.js';
import { ComparisonLayer } from './comparison-layer.js';
import { placeLabels, type LabelRequest } from './labels.js';
import { columnRuns } from '../editor/mask-runs.js';
import { maskBitmap, updatedMaskBitmap, type MaskBitmap } from './mask-bitmap.js';
import { MaskComposite, type CompositeEntry } from './mask-composite.js';

const LABEL_FONT = '12px system-ui, sans-serif';
const LABEL_HEIGHT = 16;
/** Up to this many instances shown, every one is labelled; above it, only the selection and the one under the pointer. */
export const LABELS_FOR_ALL = 30;
/** Zoomed in further than this, mask pixels are large enough to show their edge: the outline is left out. */
const OUTLINE_MAX_SCALE = 3;
/** Pending predictions' masks are drawn at this share of the mask opacity. */
const PENDING_FILL = 0.55;
/** Least distance, in screen pixels, between two vertex handles drawn (every vertex can still be taken). */
const HANDLE_SPACING = 6;

type Picture = HTMLImageElement | HTMLCanvasElement;

/** An instance as the annotation layer draws it. */
interface Drawn {
  readonly a: Annotation;
  readonly color: string;
  readonly text: string;
  readonly pending: boolean;
  /** Made before its file changed: drawn dash-dot until the image is reviewed again. */
  readonly stale: boolean;
  readonly selected: boolean;
}

/** An instance whose box is on screen, and that box in screen pixels. */
interface OnScreen {
  readonly d: Drawn;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export class CanvasView implements Disposable {
  readonly stage: Konva.Stage;
  /** The image and the mask composite share one layer: one canvas fewer for the browser to composite each frame. */
  private readonly pictureLayer = new Konva.Layer({ listening: false });
  private readonly shapeLayer = new Konva.Layer({ listening: false });
  private readonly overlayLayer = new Konva.Layer({ listening: false });
  /** "Compare with reviewed": missed instances and extra predictions. */
  readonly comparison: ComparisonLayer;
  private readonly imageNode = new Konva.Image({ image: undefined, x: 0, y: 0 });
  private levels: { scale: number; source: CanvasImageSource }[] = [];
  private imageSize = { width: 1, height: 1 };
  /** What the picture layer shows: the image record and its pixels, to notice another image or a reload. */
  private shown: { image: ImageRecord; picture: unknown } | null = null;
  /** Each mask's own bitmap (its box, in its class colour), redrawn only when its mask or colour changes. */
  private readonly bitmaps = new Map<AnnotationId, { counts: string; color: string; bitmap: MaskBitmap }>();
  private readonly composite = new MaskComposite();
  private readonly compositeNode = new Konva.Shape({
    listening: false,
    sceneFunc: (context) => {
      // Mask pixels stay crisp (nearest neighbour) while the image below is smoothed when zoomed out.
      const native = nativeOf(context);
      const smoothing = native.imageSmoothingEnabled;
      native.imageSmoothingEnabled = false;
      native.drawImage(this.composite.canvas, 0, 0, this.imageSize.width, this.imageSize.height);
      native.imageSmoothingEnabled = smoothing;
    },
  });
  private drawn: readonly Drawn[] = [];
  /** Whether the masks were last composed with their outlines (not when zoomed in past OUTLINE_MAX_SCALE). */
  private outlinesAtZoom = true;
  private readonly annotationNode = new Konva.Shape({ listening: false, sceneFunc: (context) => this.drawAnnotations(nativeOf(context)) });
  private readonly textWidths = new Map<string, number>();
  private readonly disposables = new DisposableStore();
  private readonly scene = everyFrame(() => this.drawScene());

  constructor(private readonly container: HTMLDivElement, private readonly session: ReviewSession<Picture>) {
    this.stage = new Konva.Stage({ container, width: container.clientWidth || 800, height: container.clientHeight || 600, listening: false });
    this.pictureLayer.add(this.imageNode, this.compositeNode);
    this.shapeLayer.add(this.annotationNode);
    this.comparison = new ComparisonLayer(session);
    this.stage.add(this.pictureLayer, this.shapeLayer, this.comparison.layer, this.overlayLayer);
    this.overlayLayer.visible(false);
    session.setViewport({ width: this.stage.width(), height: this.stage.height() });

    const d = this.disposables;
    d.add(this.comparison);
    d.add(this.scene);
    d.add(session.subscribe((topics) => this.changed(topics)));
    d.add(listen(container, 'pointerdown', (e) => this.onPointer('down', e)));
    d.add(listen(container, 'pointermove', (e) => this.onPointer('move', e)));
    d.add(listen(container, 'pointerup', (e) => this.onPointer('up', e)));
    d.add(listen(container, 'pointercancel', () => session.pointerCancel()));
    d.add(listen(container, 'pointerleave', () => session.pointerLeave()));
    d.add(listen(container, 'wheel', (e) => this.onWheel(e), { passive: false }));
    d.add(listen(container, 'contextmenu', (e) => e.preventDefault()));
    // The middle button must not start the browser's autoscroll.
    d.add(listen(container, 'mousedown', (e) => e.button === 1 && e.preventDefault()));
    const resize = new ResizeObserver(() => this.resize());
    resize.observe(container);
    d.add({ dispose: () => resize.disconnect() });
  }

  /** Image pixels -> page (client) coordinates: for tests and for placing DOM overlays. */
  toClient(p: { readonly x: number; readonly y: number }): { x: number; y: number } {
    const rect = this.container.getBoundingClientRect();
    const s = toScreen(this.session.camera, imagePoint(p.x, p.y));
    return { x: rect.left + s.x, y: rect.top + s.y };
  }

  dispose(): void {
    this.disposables.dispose();
    this.stage.destroy();
  }

  private changed(topics: ReadonlySet<Topic>): void {
    if (topics.has('image')) this.showPicture();
    if (topics.has('camera')) this.applyCamera();
    if (topics.has('image') || topics.has('annotations') || topics.has('selection') || topics.has('settings') || topics.has('project')) this.scene.request();
    if (topics.has('hover') && this.drawn.length > LABELS_FOR_ALL) this.shapeLayer.batchDraw();
    if (topics.has('tool') || topics.has('settings') || topics.has('selection') || topics.has('annotations')) this.drawPreview();
    if (topics.has('tool')) this.container.style.cursor = this.session.cursor;
  }

  // ---- input ----

  private onPointer(kind: 'down' | 'move' | 'up', e: PointerEvent): void {
    const rect = this.container.getBoundingClientRect();
    const input = { screen: screenPoint(e.clientX - rect.left, e.clientY - rect.top), button: e.button, shift: e.shiftKey, alt: e.altKey, mod: e.ctrlKey || e.metaKey };
    if (kind === 'down') {
      // Moves and the release keep coming here when the pointer leaves the canvas mid-gesture.
      this.container.setPointerCapture(e.pointerId);
      // A press on the canvas gives the keys back to the editor (from a field or a dropdown).
      if (document.activeElement instanceof HTMLElement && document.activeElement !== document.body) document.activeElement.blur();
      this.session.pointerDown(input);
    } else if (kind === 'move') {
      this.session.pointerMove(input);
    } else {
      this.session.pointerUp(input);
    }
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const rect = this.container.getBoundingClientRect();
    this.session.wheel({ screen: screenPoint(e.clientX - rect.left, e.clientY - rect.top), deltaX: e.deltaX, deltaY: e.deltaY, ctrl: e.ctrlKey });
  }

  private resize(): void {
    const { clientWidth, clientHeight } = this.container;
    if (clientWidth === 0 || clientHeight === 0) return;
    this.stage.size({ width: clientWidth, height: clientHeight });
    this.session.setViewport({ width: clientWidth, height: clientHeight });
    this.stage.batchDraw();
  }

  // ---- drawing ----

  /** A new image (or its pixels reloaded): mipmaps for big images, and a composite of its size. */
  private showPicture(): void {
    const image = this.session.image;
    if (!image) return;
    const picture = this.session.picture;
    if (this.shown?.image.id === image.id && this.shown.picture === picture && this.shown.image.width === image.width && this.shown.image.height === image.height) return;
    this.shown = { image, picture };
    const { width, height } = image;
    this.imageSize = { width, height };
    // A missing or undecodable file opens on a blank canvas, so its annotations stay reachable.
    this.levels = buildMipmaps(picture ?? blankPicture(width, height), width, height);
    this.imageNode.setAttrs({ image: this.levels[0]!.source, width, height });
    this.bitmaps.clear();
    this.composite.reset(width, height);
    this.drawn = [];
    this.applyCamera();
  }

  private applyCamera(): void {
    const { x, y, scale } = this.session.camera;
    this.stage.scale({ x: scale, y: scale });
    this.stage.position({ x, y });
    // The coarsest mipmap still at least as detailed as the screen; crisp pixels when zoomed far in.
    const level = [...this.levels].reverse().find((l) => l.scale >= scale) ?? this.levels[0];
    if (level && this.imageNode.image() !== level.source) this.imageNode.image(level.source);
    this.pictureLayer.imageSmoothingEnabled(scale < 2);
    // Crossing the zoom where outlines come and go recomposes the masks once.
    if ((scale <= OUTLINE_MAX_SCALE) !== this.outlinesAtZoom) this.scene.request();
    this.drawPreview();
    this.stage.batchDraw();
  }

  /** Brings the drawn instances in line with the session, rebuilding only bitmaps whose mask or colour changed. */
  private drawScene(): void {
    const session = this.session;
    const { showMasks, showOutlines, opacity } = session.settings;
    const categories = new Map<number, Category>(session.categories.map((c) => [c.id, c]));
    const selected = new Set(session.selection);
    this.outlinesAtZoom = session.camera.scale <= OUTLINE_MAX_SCALE;
    const edges = showOutlines && this.outlinesAtZoom;
    const seen = new Set<AnnotationId>();
    const masks: CompositeEntry[] = [];
    const drawn: Drawn[] = [];
    for (const a of session.annotations) {
      seen.add(a.id);
      const category = categories.get(a.categoryId);
      const color = category?.color ?? '#ffffff';
      const bitmap = this.maskBitmapOf(a, color);
      if (!session.isVisible(a)) continue;
      const pending = a.state === 'pending';
      const isSelected = selected.has(a.id);
      if (bitmap && showMasks) {
        const alpha = Math.min(1, opacity * (pending ? PENDING_FILL : 1) + (isSelected ? 0.25 : 0));
        masks.push({ id: a.id, bitmap, alpha, edges });
      }
      drawn.push({ a, color, text: instanceLabel(a, category, session.modelName(a)), pending, stale: a.stale !== undefined, selected: isSelected });
    }
    for (const id of this.bitmaps.keys()) if (!seen.has(id)) this.bitmaps.delete(id);
    if (this.composite.update(masks)) this.pictureLayer.batchDraw();
    this.drawn = drawn;
    this.shapeLayer.batchDraw();
  }

  /**
   * Every box and label, in screen pixels, grouped by colour and dash. Solid boxes are drawn one strokeRect each:
   * the browser's raster draws a stroked rectangle as four filled ones, while a path of 250 rectangles goes
   * through its general (anti-aliased scan line) path filler, which cost ~3 ms per frame of a pan (BENCHMARKS.md).
   */
  private drawAnnotations(ctx: CanvasRenderingContext2D): void {
    const session = this.session;
    const { showBoxes, showLabels } = session.settings;
    const { x: cx, y: cy, scale } = session.camera;
    const { width: vw, height: vh } = session.viewport;
    const ratio = this.shapeLayer.getCanvas().getPixelRatio();
    const hovered = session.hovered;
    ctx.save();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const onScreen: OnScreen[] = [];
    for (const d of this.drawn) {
      const [bx, by, bw, bh] = d.a.bbox;
      const x = bx * scale + cx;
      const y = by * scale + cy;
      const w = bw * scale;
      const h = bh * scale;
      if (x > vw || y > vh || x + w < 0 || y + h < 0) continue;
      onScreen.push({ d, x, y, w, h });
    }
    const boxes = onScreen.filter(({ d }) => showBoxes || d.selected || d.a.id === hovered);
    // The halo: a dark band under every box, so a box of any colour shows on any texture.
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    for (const selected of [false, true]) {
      ctx.lineWidth = selected ? 5 : 3.5;
      for (const b of boxes) if (b.d.selected === selected) ctx.strokeRect(b.x, b.y, b.w, b.h);
    }
    const groups = new Map<string, OnScreen[]>();
    for (const b of boxes) {
      const dash = b.d.stale ? 'stale' : b.d.pending ? 'pending' : 'solid';
      const key = `${b.d.color}|${dash}|${b.d.selected || b.d.a.id === hovered}`;
      const group = groups.get(key);
      if (group) group.push(b);
      else groups.set(key, [b]);
    }
    for (const [key, group] of groups) {
      const [color, dash, strong] = key.split('|');
      ctx.strokeStyle = color!;
      ctx.lineWidth = strong === 'true' ? 3 : 1.5;
      if (dash === 'solid') {
        for (const b of group) ctx.strokeRect(b.x, b.y, b.w, b.h);
        continue;
      }
      // Dashed boxes (pending, stale) are few: one path per group.
      ctx.setLineDash(dash === 'stale' ? [10, 4, 2, 4] : [6, 4]);
      ctx.beginPath();
      for (const b of group) ctx.rect(b.x, b.y, b.w, b.h);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (showLabels) this.drawLabels(ctx, onScreen, hovered);
    ctx.restore();
  }

  private drawLabels(ctx: CanvasRenderingContext2D, onScreen: readonly OnScreen[], hovered: AnnotationId | null): void {
    ctx.font = LABEL_FONT;
    const all = this.drawn.length <= LABELS_FOR_ALL;
    const requests: LabelRequest<Drawn>[] = onScreen
      .filter(({ d }) => all || d.selected || d.a.id === hovered)
      .map(({ d, x, y, w, h }) => ({ key: d, box: { x, y, width: w, height: h }, width: this.textWidth(ctx, d.text) + 6, height: LABEL_HEIGHT, must: d.selected || d.a.id === hovered }));
    ctx.textBaseline = 'middle';
    for (const { key: d, x, y } of placeLabels(requests)) {
      const width = this.textWidth(ctx, d.text) + 6;
      // Accepted: a filled tag. Pending: a hollow one (dark, outlined in the class colour).
      ctx.fillStyle = d.selected ? '#ffffff' : d.pending ? 'rgba(20,20,20,0.85)' : d.color;
      ctx.fillRect(x, y, width, LABEL_HEIGHT);
      if (d.pending && !d.selected) {
        ctx.strokeStyle = d.color;
        ctx.lineWidth = 1;
        ctx.strokeRect(x + 0.5, y + 0.5, width - 1, LABEL_HEIGHT - 1);
      }
      ctx.fillStyle = d.pending && !d.selected ? '#ffffff' : '#000000';
      ctx.fillText(d.text, x + 3, y + LABEL_HEIGHT / 2 + 0.5);
    }
  }

  private textWidth(ctx: CanvasRenderingContext2D, text: string): number {
    let width = this.textWidths.get(text);
    if (width === undefined) {
      width = ctx.measureText(text).width;
      if (this.textWidths.size > 5000) this.textWidths.clear();
      this.textWidths.set(text, width);
    }
    return width;
  }

  private drawPreview(): void {
    const preview = this.session.preview;
    const wasShown = this.overlayLayer.visible();
    this.overlayLayer.destroyChildren();
    // An empty overlay is hidden, so the browser does not composite an empty canvas every frame.
    this.overlayLayer.visible(preview !== null);
    if (preview) this.overlayLayer.add(...this.previewShapes(preview));
    if (preview || wasShown) this.overlayLayer.batchDraw();
    this.drawPrompting();
  }

  /** Boxes the model is segmenting (box prompts) stay drawn over the preview until its answer replaces them. */
  private drawPrompting(): void {
    const boxes = this.session.prompts.pending;
    if (boxes.length === 0) return;
    this.overlayLayer.visible(true);
    this.overlayLayer.add(...promptingShapes(boxes, this.session.camera.scale));
    this.overlayLayer.batchDraw();
  }

  private maskBitmapOf(a: Annotation, color: string): MaskBitmap | null {
    const existing = this.bitmaps.get(a.id);
    if (a.mask && existing?.counts === a.mask.counts && existing.color === color) return existing.bitmap;
    const runs = a.mask && columnRuns(a.mask);
    if (!a.mask || !runs) {
      this.bitmaps.delete(a.id);
      return null;
    }
    // The same instance with another mask (an edit): redrawn in place where it can be.
    const bitmap = existing?.color === color ? updatedMaskBitmap(existing.bitmap, runs, color) : maskBitmap(runs, color);
    this.bitmaps.set(a.id, { counts: a.mask.counts, color, bitmap });
    return bitmap;
  }

  /** Shapes for a tool's preview, in image pixels; strokes and handles keep their screen size at any zoom. */
  private previewShapes(preview: Preview): Konva.Shape[] {
    const px = 1 / this.session.camera.scale;
    const flat = (points: readonly ImagePoint[]) => points.flatMap((p) => [p.x, p.y]);
    switch (preview.kind) {
      case 'box':
      case 'marquee': {
        const [x, y, width, height] = preview.box;
        return [new Konva.Rect({
          x, y, width, height, stroke: '#ffffff', dash: [4 * px, 4 * px], strokeWidth: px * 1.5,
          fill: preview.kind === 'marquee' ? 'rgba(76,141,255,0.12)' : undefined,
        })];
      }
      case 'transform':
        return [
          ...preview.boxes.map(([x, y, width, height]) => new Konva.Rect({ x, y, width, height, stroke: '#ffffff', dash: [5 * px, 3 * px], strokeWidth: 1.5 * px })),
          ...(preview.handles ? HANDLES.map((handle) => {
            const p = handlePoint(preview.handles!, handle);
            const r = HANDLE_RADIUS * px;
            return new Konva.Rect({ x: p.x - r, y: p.y - r, width: 2 * r, height: 2 * r, fill: '#ffffff', stroke: '#222222', strokeWidth: px });
          }) : []),
        ];
      case 'polygon': {
        const cursor = preview.cursor ? [preview.cursor.x, preview.cursor.y] : [];
        return [
          new Konva.Line({ points: [...flat(preview.points), ...cursor], stroke: '#ffffff', strokeWidth: 1.5 * px, fill: 'rgba(255,255,255,0.15)', closed: preview.closable }),
          ...preview.points.map((p, i) => new Konva.Circle({ x: p.x, y: p.y, radius: (i === 0 ? 5 : 3.5) * px, fill: i === 0 ? '#ffd400' : '#ffffff', stroke: '#000000', strokeWidth: px })),
        ];
      }
      case 'stroke':
        return [new Konva.Line({
          points: flat(preview.points), stroke: preview.erase ? 'rgba(0,0,0,0.6)' : 'rgba(255,255,255,0.6)',
          strokeWidth: preview.radius * 2, lineCap: 'round', lineJoin: 'round',
        })];
      case 'brush':
        return [new Konva.Circle({
          x: preview.at.x, y: preview.at.y, radius: preview.radius, stroke: preview.erase ? '#ff6060' : '#ffffff',
          strokeWidth: 1.5 * px, dash: preview.erase ? [4 * px, 3 * px] : undefined,
        })];
      case 'vertices':
        // One shape, drawn in screen pixels: a long outline has thousands of vertices, of which only those at
        // least HANDLE_SPACING screen pixels apart get a handle (a press still takes the nearest vertex).
        return [new Konva.Shape({ listening: false, sceneFunc: (context) => this.drawVertices(nativeOf(context), preview) })];
    }
  }

  private drawVertices(ctx: CanvasRenderingContext2D, preview: Extract<Preview, { kind: 'vertices' }>): void {
    const { x: cx, y: cy, scale } = this.session.camera;
    const ratio = this.overlayLayer.getCanvas().getPixelRatio();
    ctx.save();
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.strokeStyle = '#ffd400';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const poly of preview.polygons) {
      poly.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x * scale + cx, p.y * scale + cy) : ctx.lineTo(p.x * scale + cx, p.y * scale + cy)));
      ctx.closePath();
    }
    ctx.stroke();
    ctx.fillStyle = '#ffffff';
    ctx.strokeStyle = '#000000';
    ctx.lineWidth = 1;
    ctx.beginPath();
    const { width: vw, height: vh } = this.session.viewport;
    for (const poly of preview.polygons) {
      let lastX = -Infinity;
      let lastY = -Infinity;
      for (const p of poly) {
        const x = p.x * scale + cx;
        const y = p.y * scale + cy;
        if (x < -4 || y < -4 || x > vw + 4 || y > vh + 4) continue;
        if (Math.abs(x - lastX) < HANDLE_SPACING && Math.abs(y - lastY) < HANDLE_SPACING) continue;
        ctx.rect(x - 3.5, y - 3.5, 7, 7);
        lastX = x;
        lastY = y;
      }
    }
    ctx.fill();
    ctx.stroke();
    const active = preview.active && preview.polygons[preview.active.polygon]?.[preview.active.vertex];
    if (active) {
      ctx.fillStyle = '#ffd400';
      ctx.fillRect(active.x * scale + cx - 4.5, active.y * scale + cy - 4.5, 9, 9);
      ctx.strokeRect(active.x * scale + cx - 4.5, active.y * scale + cy - 4.5, 9, 9);
    }
    ctx.restore();
  }
}

function nativeOf(context: Konva.Context): CanvasRenderingContext2D {
  return (context as unknown as { _context: CanvasRenderingContext2D })._context;
}

/** Boxes waiting for the model's answer: dashed, in the prompt colour. */
function promptingShapes(boxes: readonly Bbox[], scale: number): Konva.Shape[] {
  const px = 1 / scale;
  return boxes.map(([x, y, width, height]) => new Konva.Rect({ x, y, width, height, stroke: '#ffd400', dash: [6 * px, 4 * px], strokeWidth: 2 * px }));
}

/** Full size plus halvings down to ~1024 px, so a 6000 px image zoomed out draws a small bitmap. */
function buildMipmaps(image: Picture, width: number, height: number): { scale: number; source: CanvasImageSource }[] {
  const levels: { scale: number; source: CanvasImageSource }[] = [{ scale: 1, source: image }];
  let source: CanvasImageSource = image;
  let scale = 1;
  while (Math.max(width, height) * scale > 2048) {
    scale /= 2;
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    levels.push({ scale, source: canvas });
    source = canvas;
  }
  return levels;
}

function blankPicture(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, width);
  canvas.height = Math.max(1, height);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#3a3a3a';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return canvas;
}
