// The Konva stage: the image (with mipmaps for big images), one bitmap per mask in its class colour
// (composited into a single image-sized bitmap for drawing), boxes and labels, the selected box's
// transformer, and the preview of the gesture in progress. Zoom to cursor, pan with space-drag or the
// middle button, fit. It draws what it is told and reports pointer input in image pixels; it holds no
// annotation state of its own.
import Konva from 'konva';
import type { Annotation, AnnotationId, Bbox, Category } from '../../app/model/index.js';
import type { Point } from '../editor/mask-ops.js';
import type { PointerInfo, Preview } from '../editor/tools/index.js';
import { maskBitmap, type MaskBitmap } from './mask-bitmap.js';

export interface CanvasCallbacks {
  pointer(kind: 'down' | 'move' | 'up', p: Point, info: PointerInfo): void;
  /** The selected box was moved or resized with the transformer. */
  boxChanged(id: AnnotationId, bbox: Bbox): void;
  viewChanged?(): void;
}

export interface DisplayOptions {
  readonly showMasks: boolean;
  readonly showBoxes: boolean;
  readonly showLabels: boolean;
  /** Mask opacity, 0..1. */
  readonly opacity: number;
}

export interface Scene {
  readonly annotations: readonly Annotation[];
  readonly categories: ReadonlyMap<number, Category>;
  readonly visible: (a: Annotation) => boolean;
  readonly selection: AnnotationId | null;
  /** Whether the selected box gets move/resize handles (the select tool). */
  readonly transformable: boolean;
}

const MIN_SCALE = 0.02;
const MAX_SCALE = 40;
const LABEL_FONT = 12;

export class CanvasView {
  readonly stage: Konva.Stage;
  /** The image and the mask composite share one layer: one canvas fewer for the browser to composite each frame. */
  private readonly pictureLayer = new Konva.Layer({ listening: false });
  private readonly shapeLayer = new Konva.Layer();
  private readonly overlayLayer = new Konva.Layer({ listening: false });
  private readonly imageNode = new Konva.Image({ image: undefined, x: 0, y: 0 });
  private readonly transformer = new Konva.Transformer({
    rotateEnabled: false, keepRatio: false, ignoreStroke: true, flipEnabled: false,
    anchorSize: 9, borderStroke: '#ffffff', anchorStroke: '#222222', anchorFill: '#ffffff',
  });
  private levels: { scale: number; source: CanvasImageSource }[] = [];
  private imageSize = { width: 1, height: 1 };
  /** Each mask's own bitmap (its box, in its class colour), rebuilt only when its mask or colour changes. */
  private readonly bitmaps = new Map<AnnotationId, { key: string; bitmap: MaskBitmap | null }>();
  /**
   * All visible masks drawn into one image-sized canvas, each at the mask opacity, so a frame of pan or
   * zoom draws one bitmap instead of hundreds. Re-composed only when the scene or display changes.
   */
  private readonly composite = document.createElement('canvas');
  private readonly compositeNode = new Konva.Shape({
    listening: false,
    sceneFunc: (context) => {
      // Mask pixels stay crisp (nearest neighbour) while the image below is smoothed when zoomed out.
      const native = (context as unknown as { _context: CanvasRenderingContext2D })._context;
      const smoothing = native.imageSmoothingEnabled;
      native.imageSmoothingEnabled = false;
      native.drawImage(this.composite, 0, 0, this.imageSize.width, this.imageSize.height);
      native.imageSmoothingEnabled = smoothing;
    },
  });
  private compositeKey = '';
  private compositeScale = 1;
  private composedBitmaps: MaskBitmap[] = [];
  private readonly boxes = new Map<AnnotationId, { key: string; labelKey: string; rect: Konva.Rect; label: Konva.Label }>();
  private display: DisplayOptions = { showMasks: true, showBoxes: true, showLabels: true, opacity: 0.45 };
  private panning: { x: number; y: number } | null = null;
  private pressOnBox: { x: number; y: number } | null = null;
  private spaceHeld = false;
  private readonly resizeObserver: ResizeObserver;
  private readonly disposers: (() => void)[] = [];

  constructor(private readonly container: HTMLDivElement, private readonly callbacks: CanvasCallbacks) {
    this.stage = new Konva.Stage({ container, width: container.clientWidth || 800, height: container.clientHeight || 600 });
    this.pictureLayer.add(this.imageNode, this.compositeNode);
    this.shapeLayer.add(this.transformer);
    this.stage.add(this.pictureLayer, this.shapeLayer, this.overlayLayer);

    this.stage.on('wheel', (e) => this.onWheel(e.evt));
    this.stage.on('pointerdown', (e) => this.onPointerDown(e));
    this.stage.on('pointermove', (e) => this.onPointerMove(e.evt));
    this.stage.on('pointerup', (e) => this.onPointerUp(e.evt));
    this.stage.container().addEventListener('contextmenu', (e) => e.preventDefault());
    const keydown = (e: KeyboardEvent) => {
      if (e.key === ' ' && !isTyping(e)) {
        this.spaceHeld = true;
        container.style.cursor = 'grab';
        e.preventDefault();
      }
    };
    const keyup = (e: KeyboardEvent) => {
      if (e.key === ' ') {
        this.spaceHeld = false;
        container.style.cursor = '';
      }
    };
    window.addEventListener('keydown', keydown);
    window.addEventListener('keyup', keyup);
    this.disposers.push(() => window.removeEventListener('keydown', keydown), () => window.removeEventListener('keyup', keyup));
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
  }

  get scale(): number {
    return this.stage.scaleX();
  }

  /** Shows a new image (already decoded) and fits it; mipmaps are built for big images. */
  setImage(image: HTMLImageElement | HTMLCanvasElement, width: number, height: number): void {
    this.imageSize = { width, height };
    this.levels = buildMipmaps(image, width, height);
    this.imageNode.setAttrs({ image: this.levels[0]!.source, width, height });
    this.bitmaps.clear();
    // Large images get a smaller composite (at most ~24 MP); masks are nearest-neighbour scaled into it.
    this.compositeScale = Math.min(1, Math.sqrt(24e6 / (width * height)));
    this.composite.width = Math.max(1, Math.round(width * this.compositeScale));
    this.composite.height = Math.max(1, Math.round(height * this.compositeScale));

    this.compositeKey = '';
    for (const { rect, label } of this.boxes.values()) {
      rect.destroy();
      label.destroy();
    }
    this.boxes.clear();
    this.transformer.nodes([]);
    this.fit();
  }

  /** Takes effect at the next setScene. */
  setDisplay(display: DisplayOptions): void {
    this.display = display;
  }

  /** Brings the drawn instances in line with `scene`, rebuilding only bitmaps whose mask or colour changed. */
  setScene(scene: Scene): void {
    const seen = new Set<AnnotationId>();
    const drawn: { id: AnnotationId; bitmap: MaskBitmap }[] = [];
    for (const a of scene.annotations) {
      seen.add(a.id);
      const color = scene.categories.get(a.categoryId)?.color ?? '#ffffff';
      const shown = scene.visible(a);
      const bitmap = this.maskBitmapOf(a, color);
      if (bitmap && shown && this.display.showMasks) drawn.push({ id: a.id, bitmap });
      this.syncBox(a, color, scene, shown);
    }
    for (const id of this.bitmaps.keys()) if (!seen.has(id)) this.bitmaps.delete(id);
    this.compose(drawn, scene.selection);
    for (const [id, { rect, label }] of this.boxes) {
      if (seen.has(id)) continue;
      rect.destroy();
      label.destroy();
      this.boxes.delete(id);
    }
    const selected = scene.selection ? this.boxes.get(scene.selection) : undefined;
    const handles = selected && scene.transformable && selected.rect.visible() ? [selected.rect] : [];
    for (const { rect } of this.boxes.values()) {
      const active = handles.includes(rect);
      rect.listening(active);
      rect.draggable(active);
      // Only the selected box is filled (transparently, to be grabbable): filling every box costs each frame.
      rect.fillEnabled(active);
    }
    this.transformer.nodes(handles);
    this.transformer.moveToTop();
    this.scaleLabels();
    this.stage.batchDraw();
  }

  setPreview(preview: Preview | null): void {
    const wasShown = this.overlayLayer.visible();
    this.overlayLayer.destroyChildren();
    // An empty overlay is hidden, so the browser does not composite an empty canvas every frame.
    this.overlayLayer.visible(preview !== null);
    if (preview) this.overlayLayer.add(...previewShapes(preview, this.scale));
    if (preview || wasShown) this.overlayLayer.batchDraw();
  }

  fit(): void {
    const { width, height } = this.imageSize;
    const scale = Math.min(this.stage.width() / width, this.stage.height() / height) * 0.98;
    this.stage.scale({ x: scale, y: scale });
    this.stage.position({ x: (this.stage.width() - width * scale) / 2, y: (this.stage.height() - height * scale) / 2 });
    this.afterViewChange();
  }

  /** Zooms by `factor` keeping the image point under `around` (stage pixels; default the centre) fixed. */
  zoomBy(factor: number, around: Point = { x: this.stage.width() / 2, y: this.stage.height() / 2 }): void {
    const old = this.scale;
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, old * factor));
    const anchor = { x: (around.x - this.stage.x()) / old, y: (around.y - this.stage.y()) / old };
    this.stage.scale({ x: scale, y: scale });
    this.stage.position({ x: around.x - anchor.x * scale, y: around.y - anchor.y * scale });
    this.afterViewChange();
  }

  /** Pans (and zooms out if needed) so the box is on screen; does nothing when it already is. */
  reveal([x, y, w, h]: Bbox): void {
    const scale = this.scale;
    const left = this.stage.x() + x * scale;
    const top = this.stage.y() + y * scale;
    const margin = 20;
    if (left >= 0 && top >= 0 && left + w * scale <= this.stage.width() && top + h * scale <= this.stage.height()) return;
    const fits = Math.min((this.stage.width() - 2 * margin) / Math.max(1, w), (this.stage.height() - 2 * margin) / Math.max(1, h));
    if (fits < scale) this.stage.scale({ x: fits, y: fits });
    const s = this.scale;
    this.stage.position({ x: this.stage.width() / 2 - (x + w / 2) * s, y: this.stage.height() / 2 - (y + h / 2) * s });
    this.afterViewChange();
  }

  panBy(dx: number, dy: number): void {
    this.stage.position({ x: this.stage.x() + dx, y: this.stage.y() + dy });
    this.stage.batchDraw();
    this.callbacks.viewChanged?.();
  }

  /** Image pixels -> page (client) coordinates: for tests and for placing DOM overlays. */
  toClient(p: Point): Point {
    const rect = this.container.getBoundingClientRect();
    return { x: rect.left + this.stage.x() + p.x * this.scale, y: rect.top + this.stage.y() + p.y * this.scale };
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    for (const dispose of this.disposers) dispose();
    this.stage.destroy();
  }

  private maskBitmapOf(a: Annotation, color: string): MaskBitmap | null {
    if (!a.mask) {
      this.bitmaps.delete(a.id);
      return null;
    }
    const key = `${color}|${a.mask.counts}`;
    const existing = this.bitmaps.get(a.id);
    if (existing?.key === key) return existing.bitmap;
    const bitmap = maskBitmap(a.mask, color);
    this.bitmaps.set(a.id, { key, bitmap });
    return bitmap;
  }

  private compose(drawn: readonly { id: AnnotationId; bitmap: MaskBitmap }[], selection: AnnotationId | null): void {
    const opacity = this.display.opacity;
    // Bitmaps are replaced, never changed, when a mask or colour changes: the same list means the same picture.
    const key = `${opacity}|${selection}`;
    if (key === this.compositeKey && this.composedBitmaps.length === drawn.length && drawn.every((d, i) => this.composedBitmaps[i] === d.bitmap)) return;
    this.compositeKey = key;
    this.composedBitmaps = drawn.map((d) => d.bitmap);
    const ctx = this.composite.getContext('2d')!;
    const s = this.compositeScale;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, this.composite.width, this.composite.height);
    for (const { id, bitmap } of drawn) {
      ctx.globalAlpha = id === selection ? Math.min(1, opacity + 0.25) : opacity;
      ctx.drawImage(bitmap.canvas, bitmap.x * s, bitmap.y * s, bitmap.canvas.width * s, bitmap.canvas.height * s);
    }
    ctx.globalAlpha = 1;
    this.pictureLayer.batchDraw();
  }

  private syncBox(a: Annotation, color: string, scene: Scene, shown: boolean): void {
    const category = scene.categories.get(a.categoryId);
    const selected = scene.selection === a.id;
    const text = `${category?.name ?? '?'}${a.crowd ? ' (crowd)' : ''}${a.score !== null ? ` ${a.score.toFixed(2)}` : ''}${a.state === 'rejected' ? ' ✕' : ''}`;
    const key = `${a.bbox.join()}|${color}|${text}|${selected}|${a.state}`;
    let entry = this.boxes.get(a.id);
    if (!entry) {
      // The transparent fill makes the whole box grabbable when it is the selected, draggable one.
      const rect = new Konva.Rect({
        strokeScaleEnabled: false, listening: false, name: 'box', fill: 'rgba(0,0,0,0)', fillEnabled: false,
        perfectDrawEnabled: false, shadowForStrokeEnabled: false,
      });
      rect.on('dragend transformend', () => this.reportBox(a.id, rect));
      const label = new Konva.Label({ listening: false, perfectDrawEnabled: false });
      label.add(new Konva.Tag({ cornerRadius: 2 }), new Konva.Text({ fontSize: LABEL_FONT, padding: 2, fill: '#000000', fontFamily: 'system-ui, sans-serif' }));
      this.shapeLayer.add(rect, label);
      entry = { key: '', labelKey: '', rect, label };
      this.boxes.set(a.id, entry);
    }
    if (entry.key !== key) {
      const [x, y, w, h] = a.bbox;
      entry.rect.setAttrs({
        x, y, width: w, height: h, scaleX: 1, scaleY: 1, stroke: color,
        strokeWidth: selected ? 3 : 1.5, dash: a.state === 'rejected' ? [6, 4] : a.origin === 'human' ? undefined : a.state === 'pending' ? [2, 2] : undefined,
      });
      entry.label.position({ x, y });
      entry.key = key;
    }
    const labelKey = `${text}|${selected ? '#ffffff' : color}`;
    if (entry.labelKey !== labelKey) {
      (entry.label.getTag() as Konva.Tag).fill(selected ? '#ffffff' : color);
      (entry.label.getText() as Konva.Text).text(text);
      entry.labelKey = labelKey;
    }
    entry.rect.visible(shown && (this.display.showBoxes || selected));
    entry.label.visible(shown && this.display.showLabels);
  }

  private reportBox(id: AnnotationId, rect: Konva.Rect): void {
    const bbox: Bbox = [rect.x(), rect.y(), rect.width() * rect.scaleX(), rect.height() * rect.scaleY()];
    rect.scale({ x: 1, y: 1 });
    this.callbacks.boxChanged(id, bbox);
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const pointer = this.stage.getPointerPosition();
    if (!pointer) return;
    if (e.ctrlKey || Math.abs(e.deltaY) >= Math.abs(e.deltaX)) this.zoomBy(Math.exp(-e.deltaY * 0.0015), pointer);
    else this.panBy(-e.deltaX, 0);
  }

  private onPointerDown(e: Konva.KonvaEventObject<PointerEvent>): void {
    const evt = e.evt;
    if (evt.button === 1 || (evt.button === 0 && this.spaceHeld)) {
      this.panning = { x: evt.clientX, y: evt.clientY };
      this.container.style.cursor = 'grabbing';
      evt.preventDefault();
      return;
    }
    if (evt.button !== 0) return;
    if (e.target !== this.stage && e.target.getParent() === this.transformer) return; // a resize handle
    if (e.target !== this.stage && e.target.draggable()) {
      // The selected box: Konva drags it; a press that does not move is a click for the tool (on release).
      this.pressOnBox = { x: evt.clientX, y: evt.clientY };
      return;
    }
    this.callbacks.pointer('down', this.pointerImage(), { alt: evt.altKey, shift: evt.shiftKey });
  }

  private onPointerMove(evt: PointerEvent): void {
    if (this.panning) {
      this.panBy(evt.clientX - this.panning.x, evt.clientY - this.panning.y);
      this.panning = { x: evt.clientX, y: evt.clientY };
      return;
    }
    this.callbacks.pointer('move', this.pointerImage(), { alt: evt.altKey, shift: evt.shiftKey });
  }

  private onPointerUp(evt: PointerEvent): void {
    if (this.panning) {
      this.panning = null;
      this.container.style.cursor = this.spaceHeld ? 'grab' : '';
      return;
    }
    if (evt.button !== 0) return;
    const info = { alt: evt.altKey, shift: evt.shiftKey };
    const press = this.pressOnBox;
    this.pressOnBox = null;
    if (press) {
      if (Math.hypot(evt.clientX - press.x, evt.clientY - press.y) < 3) {
        this.callbacks.pointer('down', this.pointerImage(), info);
        this.callbacks.pointer('up', this.pointerImage(), info);
      }
      return;
    }
    this.callbacks.pointer('up', this.pointerImage(), info);
  }

  private pointerImage(): Point {
    const p = this.stage.getPointerPosition() ?? { x: 0, y: 0 };
    return { x: (p.x - this.stage.x()) / this.scale, y: (p.y - this.stage.y()) / this.scale };
  }

  private resize(): void {
    const { clientWidth, clientHeight } = this.container;
    if (clientWidth === 0 || clientHeight === 0) return;
    this.stage.size({ width: clientWidth, height: clientHeight });
    this.stage.batchDraw();
  }

  private afterViewChange(): void {
    const scale = this.scale;
    // The coarsest mipmap still at least as detailed as the screen; crisp pixels when zoomed far in.
    const level = [...this.levels].reverse().find((l) => l.scale >= scale) ?? this.levels[0];
    if (level && this.imageNode.image() !== level.source) this.imageNode.image(level.source);
    this.pictureLayer.imageSmoothingEnabled(scale < 2);
    this.scaleLabels();
    this.stage.batchDraw();
    this.callbacks.viewChanged?.();
  }

  private scaleLabels(): void {
    const inverse = 1 / this.scale;
    for (const { label } of this.boxes.values()) label.scale({ x: inverse, y: inverse });
    this.transformer.forceUpdate();
  }
}

/** Full size plus halvings down to ~1024 px, so a 6000 px image zoomed out draws a small bitmap. */
function buildMipmaps(image: HTMLImageElement | HTMLCanvasElement, width: number, height: number): { scale: number; source: CanvasImageSource }[] {
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

function previewShapes(preview: Preview, scale: number): Konva.Shape[] {
  const px = 1 / scale;
  switch (preview.kind) {
    case 'box':
      return [new Konva.Rect({ ...preview, x: preview.x, y: preview.y, width: preview.w, height: preview.h, stroke: '#ffffff', dash: [4 * px, 4 * px], strokeWidth: px * 1.5 })];
    case 'polygon': {
      const points = preview.points.flatMap((p) => [p.x, p.y]);
      const cursor = preview.cursor ? [preview.cursor.x, preview.cursor.y] : [];
      return [
        new Konva.Line({ points: [...points, ...cursor], stroke: '#ffffff', strokeWidth: 1.5 * px, fill: 'rgba(255,255,255,0.15)', closed: preview.closable }),
        ...preview.points.map((p, i) => new Konva.Circle({ x: p.x, y: p.y, radius: (i === 0 ? 5 : 3.5) * px, fill: i === 0 ? '#ffd400' : '#ffffff', stroke: '#000000', strokeWidth: px })),
      ];
    }
    case 'stroke':
      return [new Konva.Line({
        points: preview.points.flatMap((p) => [p.x, p.y]), stroke: preview.erase ? 'rgba(0,0,0,0.6)' : 'rgba(255,255,255,0.6)',
        strokeWidth: preview.radius * 2, lineCap: 'round', lineJoin: 'round',
      })];
    case 'brush':
      return [new Konva.Circle({
        x: preview.at.x, y: preview.at.y, radius: preview.radius, stroke: preview.erase ? '#ff6060' : '#ffffff',
        strokeWidth: 1.5 * px, dash: preview.erase ? [4 * px, 3 * px] : undefined,
      })];
    case 'vertices':
      return preview.polygons.flatMap((poly, i) => [
        new Konva.Line({ points: poly.flatMap((p) => [p.x, p.y]), closed: true, stroke: '#ffd400', strokeWidth: 1.5 * px }),
        ...poly.map((p, j) => {
          const active = preview.active?.polygon === i && preview.active.vertex === j;
          return new Konva.Rect({ x: p.x - 3.5 * px, y: p.y - 3.5 * px, width: 7 * px, height: 7 * px, fill: active ? '#ffd400' : '#ffffff', stroke: '#000000', strokeWidth: px });
        }),
      ]);
  }
}

function isTyping(e: KeyboardEvent): boolean {
  const target = e.target as HTMLElement | null;
  return !!target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable);
}
