// The Konva stage: it draws what the review session holds and forwards pointer input to it, deciding nothing.
// The image (with mipmaps for big images), one bitmap per mask in its class colour (composited into one
// image-sized bitmap), boxes and labels, and the active tool's preview (rubber bands, outlines, resize
// handles) over them, all placed by the session's camera. Pointer events go to the session in screen
// pixels (the canvas element's CSS pixels); which press is a click, a drag, a pan or a resize is the
// session's and its tools' to decide. No layer listens: Konva builds no hit graph.
import Konva from 'konva';
import { imagePoint, screenPoint, type ImagePoint } from '../../app/geometry/points.js';
import type { Disposable } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Category, ImageRecord } from '../../app/model/index.js';
import { toScreen } from '../editor/camera.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { HANDLE_RADIUS, HANDLES, handlePoint, type Preview } from '../editor/tools/index.js';
import { DisposableStore, everyFrame, listen } from '../ui/dom.js';
import { ComparisonLayer } from './comparison-layer.js';
import { maskBitmap, type MaskBitmap } from './mask-bitmap.js';

const LABEL_FONT = 12;

type Picture = HTMLImageElement | HTMLCanvasElement;

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
  private readonly disposables = new DisposableStore();
  private readonly scene = everyFrame(() => this.drawScene());

  constructor(private readonly container: HTMLDivElement, private readonly session: ReviewSession<Picture>) {
    this.stage = new Konva.Stage({ container, width: container.clientWidth || 800, height: container.clientHeight || 600, listening: false });
    this.pictureLayer.add(this.imageNode, this.compositeNode);
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
    this.scaleLabels();
    this.drawPreview();
    this.stage.batchDraw();
  }

  /** Brings the drawn instances in line with the session, rebuilding only bitmaps whose mask or colour changed. */
  private drawScene(): void {
    const session = this.session;
    const { showMasks, showBoxes, showLabels, opacity } = session.settings;
    const categories = new Map<number, Category>(session.categories.map((c) => [c.id, c]));
    const selected = new Set(session.selection);
    const seen = new Set<AnnotationId>();
    const drawn: { id: AnnotationId; bitmap: MaskBitmap }[] = [];
    for (const a of session.annotations) {
      seen.add(a.id);
      const category = categories.get(a.categoryId);
      const color = category?.color ?? '#ffffff';
      const shown = session.isVisible(a);
      const bitmap = this.maskBitmapOf(a, color);
      if (bitmap && shown && showMasks) drawn.push({ id: a.id, bitmap });
      this.syncBox(a, color, category, selected.has(a.id), shown, showBoxes, showLabels);
    }
    for (const id of this.bitmaps.keys()) if (!seen.has(id)) this.bitmaps.delete(id);
    this.compose(drawn, selected, opacity);
    for (const [id, { rect, label }] of this.boxes) {
      if (seen.has(id)) continue;
      rect.destroy();
      label.destroy();
      this.boxes.delete(id);
    }
    this.scaleLabels();
    this.stage.batchDraw();
  }

  private drawPreview(): void {
    const preview = this.session.preview;
    const wasShown = this.overlayLayer.visible();
    this.overlayLayer.destroyChildren();
    // An empty overlay is hidden, so the browser does not composite an empty canvas every frame.
    this.overlayLayer.visible(preview !== null);
    if (preview) this.overlayLayer.add(...previewShapes(preview, this.session.camera.scale));
    if (preview || wasShown) this.overlayLayer.batchDraw();
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

  private compose(drawn: readonly { id: AnnotationId; bitmap: MaskBitmap }[], selected: ReadonlySet<AnnotationId>, opacity: number): void {
    // Bitmaps are replaced, never changed, when a mask or colour changes: the same list means the same picture.
    const key = `${opacity}|${[...selected].join()}`;
    if (key === this.compositeKey && this.composedBitmaps.length === drawn.length && drawn.every((d, i) => this.composedBitmaps[i] === d.bitmap)) return;
    this.compositeKey = key;
    this.composedBitmaps = drawn.map((d) => d.bitmap);
    const ctx = this.composite.getContext('2d')!;
    const s = this.compositeScale;
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, this.composite.width, this.composite.height);
    for (const { id, bitmap } of drawn) {
      ctx.globalAlpha = selected.has(id) ? Math.min(1, opacity + 0.25) : opacity;
      ctx.drawImage(bitmap.canvas, bitmap.x * s, bitmap.y * s, bitmap.canvas.width * s, bitmap.canvas.height * s);
    }
    ctx.globalAlpha = 1;
    this.pictureLayer.batchDraw();
  }

  private syncBox(a: Annotation, color: string, category: Category | undefined, selected: boolean, shown: boolean, showBoxes: boolean, showLabels: boolean): void {
    const text = `${category?.name ?? '?'}${a.crowd ? ' (crowd)' : ''}${a.score !== null ? ` ${a.score.toFixed(2)}` : ''}${a.state === 'rejected' ? ' ✕' : ''}`;
    const key = `${a.bbox.join()}|${color}|${selected}|${a.state}|${a.origin}`;
    let entry = this.boxes.get(a.id);
    if (!entry) {
      const rect = new Konva.Rect({ strokeScaleEnabled: false, listening: false, name: 'box', perfectDrawEnabled: false, shadowForStrokeEnabled: false });
      const label = new Konva.Label({ listening: false, perfectDrawEnabled: false });
      label.add(new Konva.Tag({ cornerRadius: 2 }), new Konva.Text({ fontSize: LABEL_FONT, padding: 2, fill: '#000000', fontFamily: 'system-ui, sans-serif' }));
      this.shapeLayer.add(rect, label);
      entry = { key: '', labelKey: '', rect, label };
      this.boxes.set(a.id, entry);
    }
    if (entry.key !== key) {
      const [x, y, w, h] = a.bbox;
      entry.rect.setAttrs({
        x, y, width: w, height: h, stroke: color,
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
    entry.rect.visible(shown && (showBoxes || selected));
    entry.label.visible(shown && showLabels);
  }

  private scaleLabels(): void {
    const inverse = 1 / this.session.camera.scale;
    for (const { label } of this.boxes.values()) label.scale({ x: inverse, y: inverse });
  }
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

/** Shapes for a tool's preview, in image pixels; strokes and handles keep their screen size at any zoom. */
function previewShapes(preview: Preview, scale: number): Konva.Shape[] {
  const px = 1 / scale;
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
      return preview.polygons.flatMap((poly, i) => [
        new Konva.Line({ points: flat(poly), closed: true, stroke: '#ffd400', strokeWidth: 1.5 * px }),
        ...poly.map((p, j) => {
          const active = preview.active?.polygon === i && preview.active.vertex === j;
          return new Konva.Rect({ x: p.x - 3.5 * px, y: p.y - 3.5 * px, width: 7 * px, height: 7 * px, fill: active ? '#ffd400' : '#ffffff', stroke: '#000000', strokeWidth: px });
        }),
      ]);
  }
}
