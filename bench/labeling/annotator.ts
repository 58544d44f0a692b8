// A scripted annotator for `npm run bench:labeling`: it drives the headless ReviewSession with what keys and the
// mouse produce (keyDown, pointer presses at whole screen pixels, as a mouse gives them) and counts every key
// press, click and drag. It knows the ground truth and works as a practised person would:
//  - correcting predictions: a prediction matching a true instance (mask IoU >= 0.9, right class) is left for
//    Enter to accept; a wrong class is a click and a class key; predictions matching nothing are rejected, each
//    with a click and R, or, when that is fewer actions, all at once: Ctrl+A, Shift-clicks on the good ones to
//    leave them out, R; a true instance only a prediction below the threshold matches is a click on its row in the
//    panel and A; a prediction whose mask falls short gets its outline's vertices dragged to the true corners
//    (the vertex tool), one drag at a time while that helps; a true instance still unmatched is drawn from scratch
//    (after deleting the poor prediction of it);
//  - from scratch: each true instance with the polygon tool (the fewest corners that reach IoU 0.9, drawn again
//    with more when the drawn one falls short) or, for a round one, one dab of a brush sized to it;
//  - Enter marks each image reviewed (accepting what is shown, rejecting what is hidden) and opens the next.
// The result is checked against the ground truth from what the project stores, not from the script's view.
import { maskToPolygons, polygonsToRle } from '../../app/geometry/polygon.js';
import { imagePoint, screenPoint, type ImagePoint, type ScreenPoint } from '../../app/geometry/points.js';
import { area, decode, iou, toBbox } from '../../app/geometry/rle.js';
import type { Api } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Category, Rle } from '../../app/model/index.js';
import { toScreen } from '../../renderer/editor/camera.js';
import { emptyCrop, encodeCrop, paintDisc } from '../../renderer/editor/mask-ops.js';
import { ReviewSession } from '../../renderer/editor/session.js';
import { hitTest } from '../../renderer/editor/tools/index.js';

/** What a scene truly holds. */
export interface SceneTruth {
  readonly path: string;
  readonly instances: readonly { readonly className: string; readonly mask: Rle }[];
}

export interface Tally {
  readonly keys: number;
  readonly clicks: number;
  readonly drags: number;
  /** Characters typed into a field (class names), counted as key presses too. */
  readonly typed: number;
}

export interface RunResult {
  readonly actions: number;
  readonly tally: Tally;
  readonly instances: number;
  /** True instances the project does not hold at IoU >= 0.9 with the right class, and instances it holds that are not true. */
  readonly missed: number;
  readonly extra: number;
  /** What the corrections were, by kind (correcting only). */
  readonly fixes: Readonly<Record<string, number>>;
}

export const MIN_IOU = 0.9;
/** The polygon the script aims for is a little better than the target, so that whole-pixel clicks still reach it. */
const AIM_IOU = 0.92;
const VIEWPORT = { width: 1280, height: 800 };

type Session = ReviewSession<object>;

export class ScriptedAnnotator {
  readonly session: Session;
  private tally = { keys: 0, clicks: 0, drags: 0, typed: 0 };
  private readonly fixes: Record<string, number> = {};

  constructor(api: Api, private readonly truth: ReadonlyMap<string, SceneTruth>) {
    this.session = new ReviewSession<object>(api, { pictures: { get: async () => ({}) }, settingsDelayMs: 60_000 });
    this.session.setViewport(VIEWPORT);
  }

  get actions(): number {
    return this.tally.keys + this.tally.clicks + this.tally.drags;
  }

  dispose(): void {
    this.session.dispose();
  }

  // ---- what the person does ----

  private async key(key: string, mods: { shiftKey?: boolean; ctrlKey?: boolean } = {}): Promise<void> {
    this.tally.keys++;
    this.session.keyDown({ key, ...mods });
    this.session.keyUp({ key, ...mods });
    await this.settle();
  }

  /** Where the mouse is for an image point: a whole screen pixel. */
  private screen(p: ImagePoint): ScreenPoint {
    const s = toScreen(this.session.camera, p);
    return screenPoint(Math.round(s.x), Math.round(s.y));
  }

  private async click(p: ImagePoint, mods: { shift?: boolean } = {}): Promise<void> {
    this.tally.clicks++;
    const screen = this.screen(p);
    this.session.pointerMove({ screen, button: 0, ...mods });
    this.session.pointerDown({ screen, button: 0, ...mods });
    this.session.pointerUp({ screen, button: 0, ...mods });
    await this.settle();
  }

  private async drag(from: ImagePoint, to: ImagePoint): Promise<void> {
    this.tally.drags++;
    const [a, b] = [this.screen(from), this.screen(to)];
    this.session.pointerMove({ screen: a, button: 0 });
    this.session.pointerDown({ screen: a, button: 0 });
    for (let k = 1; k <= 4; k++) this.session.pointerMove({ screen: screenPoint(a.x + ((b.x - a.x) * k) / 4, a.y + ((b.y - a.y) * k) / 4), button: 0 });
    this.session.pointerUp({ screen: b, button: 0 });
    await this.settle();
  }

  /** A click on a row or a button of the panel. */
  private async panelClick(act: () => void | Promise<unknown>): Promise<void> {
    this.tally.clicks++;
    await act();
    await this.settle();
  }

  private async type(text: string): Promise<void> {
    this.tally.typed += text.length;
    this.tally.keys += text.length + 1; // and Enter
    await this.settle();
  }

  private async settle(): Promise<void> {
    await this.session.whenSaved();
    await new Promise((resolve) => setImmediate(resolve));
  }

  // ---- correcting the model's predictions ----

  /** Runs the shipped model from the toolbar (one click) and waits for it, then reviews every image. */
  async correct(runTimeoutMs: number): Promise<void> {
    await this.session.start();
    await this.panelClick(() => this.session.prelabel());
    const started = Date.now();
    while (this.session.run?.state !== 'done') {
      const state = this.session.run?.state;
      if (state === 'failed' || state === 'cancelled') throw new Error(`the pre-label run ${state}: ${this.session.message}`);
      if (Date.now() - started > runTimeoutMs) throw new Error(`the pre-label run did not finish within ${runTimeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The run's end reloads the list and the open image.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await this.settle();
    await this.reviewAll((truth) => this.correctImage(truth));
  }

  private async correctImage(truth: SceneTruth): Promise<void> {
    const session = this.session;
    const predictions = session.annotations.filter((a) => a.origin === 'model' && a.state === 'pending' && a.mask);
    const shown = predictions.filter((a) => session.isVisible(a));
    const hidden = predictions.filter((a) => !session.isVisible(a));
    // Each true instance takes the shown prediction that overlaps it most (a prediction serves one instance).
    const taken = new Set<AnnotationId>();
    const plan: { truth: SceneTruth['instances'][number]; best: Annotation | null; overlap: number }[] = [];
    for (const instance of truth.instances) {
      let best: Annotation | null = null;
      let overlap = 0;
      for (const p of shown) {
        if (taken.has(p.id)) continue;
        const o = iou(p.mask!, instance.mask);
        if (o > overlap) [best, overlap] = [p, o];
      }
      if (best && overlap >= 0.5) taken.add(best.id);
      plan.push({ truth: instance, best: overlap >= 0.5 ? best : null, overlap });
    }
    // Predictions that match nothing are rejected: one by one (a click and R each), or all at once when that is
    // fewer actions (Ctrl+A, a Shift-click on each instance to keep, R).
    const wrong = shown.filter((p) => !taken.has(p.id));
    const keep = session.annotations.filter((a) => session.isPickable(a) && !wrong.includes(a));
    if (wrong.length > 0 && 2 + keep.length < 2 * wrong.length) {
      this.note('false positives rejected all at once', wrong.length);
      if (session.settings.tool !== 'select') await this.key('v');
      await this.key('a', { ctrlKey: true });
      for (const a of keep) {
        const spot = pickSpot(a, (p) => hitTest(session.document!, (x) => session.isPickable(x), p));
        if (spot) await this.click(spot, { shift: true });
      }
      if (session.selection.length !== wrong.length || !wrong.every((p) => session.selection.includes(p.id))) {
        throw new Error(`${session.image?.path}: the selection to reject is not the predictions matching nothing`);
      }
      await this.key('r');
    } else {
      for (const p of wrong) {
        this.note('false positive rejected');
        await this.select(p);
        await this.key('r');
      }
    }
    for (const { truth: instance, best, overlap } of plan) {
      const category = this.categoryNamed(instance.className);
      if (best && overlap >= MIN_IOU) {
        if (best.categoryId === category?.id) {
          this.note('accepted by Enter');
          continue;
        }
        this.note('class fixed');
        await this.select(best);
        await this.classKey(instance.className);
        continue;
      }
      // A prediction hidden below the threshold that fits: picked from the panel and accepted.
      const below = hidden.find((p) => iou(p.mask!, instance.mask) >= MIN_IOU);
      if (below) {
        this.note('hidden prediction accepted');
        await this.panelClick(() => session.selectAndReveal(below.id));
        await this.key('a');
        if (below.categoryId !== category?.id) await this.classKey(instance.className);
        continue;
      }
      // A mask far off is redrawn at once; one a little short gets its outline fixed.
      if (best && overlap >= 0.8 && (await this.fixOutline(best, instance.mask))) {
        this.note('outline fixed with the vertex tool');
        if (session.document!.get(best.id)?.categoryId !== category?.id) await this.classKey(instance.className);
        continue;
      }
      if (best) {
        this.note('poor mask redrawn');
        await this.select(best);
        await this.key('Delete');
      } else {
        this.note('missed instance drawn');
      }
      await this.draw(instance);
    }
  }

  /**
   * Drags the vertices of a prediction's outline where the truth is, the worst place first, while the mask still
   * falls short of the target (six drags at most): the vertex nearest a true corner the outline misses, to that
   * corner, or a vertex standing off the true outline, onto it. True when it reaches the target.
   */
  private async fixOutline(target: Annotation, truth: Rle): Promise<boolean> {
    const session = this.session;
    const reached = () => {
      const mask = session.document!.get(target.id)?.mask;
      return mask !== null && mask !== undefined && iou(mask, truth) >= MIN_IOU;
    };
    const corners = polygonFor(truth, 0.97);
    await this.select(target);
    if (session.settings.tool !== 'vertices') await this.key('e');
    for (let n = 0; n < 6 && !reached(); n++) {
      const preview = session.preview;
      if (preview?.kind !== 'vertices') return false;
      const outline = preview.polygons.flat();
      const truePolygon = [[] as ImagePoint[]];
      for (let i = 0; i < corners.length; i += 2) truePolygon[0]!.push(imagePoint(corners[i]!, corners[i + 1]!));
      let move: { from: ImagePoint; to: ImagePoint; error: number } | null = null;
      for (const c of truePolygon[0]!) {
        const error = distanceToOutline(c, preview.polygons).distance;
        const from = outline.reduce((best, v) => (Math.hypot(v.x - c.x, v.y - c.y) < Math.hypot(best.x - c.x, best.y - c.y) ? v : best));
        if (error > (move?.error ?? 1.5)) move = { from, to: c, error };
      }
      for (const v of outline) {
        const { distance: error, nearest } = distanceToOutline(v, truePolygon);
        if (error > (move?.error ?? 1.5)) move = { from: v, to: nearest, error };
      }
      if (!move) break;
      await this.drag(move.from, move.to);
    }
    const ok = reached();
    await this.key('v');
    return ok;
  }

  // ---- from scratch ----

  async scratch(): Promise<void> {
    await this.session.start();
    await this.reviewAll(async (truth) => {
      for (const instance of truth.instances) await this.draw(instance);
    });
  }

  /** Draws a true instance with whichever of the polygon and the brush takes fewer actions, checking the result. */
  private async draw(instance: SceneTruth['instances'][number]): Promise<void> {
    const session = this.session;
    const before = new Set(session.annotations.map((a) => a.id));
    const dab = this.brushDab(instance.mask);
    const polygon = polygonFor(instance.mask, AIM_IOU);
    const polygonCost = polygon.length / 2 + 1 + (session.settings.tool === 'polygon' ? 0 : 1);
    if (dab && dab.cost < polygonCost) {
      if (session.settings.tool !== 'brush') await this.key('m');
      if (session.selection.length > 0) await this.key('Escape'); // the brush would paint onto the selection
      for (const k of dab.keys) await this.key(k);
      await this.click(dab.at);
    } else {
      if (session.settings.tool !== 'polygon') await this.key('p');
      await this.polygon(polygon);
    }
    await this.answerClassQuestion(instance.className);
    let drawn = session.annotations.find((a) => !before.has(a.id));
    // Short of the target once drawn at whole screen pixels: undone and drawn again with more corners.
    for (let aim = AIM_IOU + 0.02; drawn?.mask && iou(drawn.mask, instance.mask) < MIN_IOU && aim < 0.995; aim += 0.02) {
      this.note('drawn again');
      await this.key('z', { ctrlKey: true });
      if (session.settings.tool !== 'polygon') await this.key('p');
      await this.polygon(polygonFor(instance.mask, aim));
      drawn = session.annotations.find((a) => !before.has(a.id));
    }
    if (!drawn) throw new Error(`${session.image?.path}: drawing a ${instance.className} made nothing`);
    // The class: the new instance is selected, so its class key reclassifies it and makes that class the active one.
    if (this.categoryNamed(instance.className)?.id !== drawn.categoryId) await this.classKey(instance.className);
  }

  private async polygon(flat: readonly number[]): Promise<void> {
    for (let i = 0; i < flat.length; i += 2) await this.click(imagePoint(flat[i]!, flat[i + 1]!));
    await this.key('Enter');
  }

  /** One dab of the brush, sized with [ and ], when it covers a round instance well enough; null otherwise. */
  private brushDab(mask: Rle): { at: ImagePoint; keys: string[]; cost: number } | null {
    const [h, w] = mask.size;
    const [bx, by, bw, bh] = toBbox(mask);
    // Round instances only: the box is square and the mask fills about pi/4 of it.
    if (Math.abs(bw - bh) > 0.08 * Math.max(bw, bh) || Math.abs(area(mask) / (bw * bh) - Math.PI / 4) > 0.05) return null;
    const scale = this.session.camera.scale;
    const target = (bw / 2) * scale;
    let size = this.session.settings.brushSize;
    const keys: string[] = [];
    // [ and ] step the size by a quarter; a dozen presses at most.
    for (let n = 0; n < 12 && Math.abs(size - target) > 0.5; n++) {
      const larger = Math.min(150, Math.round(size * 1.25) + 1);
      const smaller = Math.max(1, Math.round(size / 1.25));
      const next = size < target ? larger : smaller;
      if (Math.abs(next - target) >= Math.abs(size - target)) break;
      keys.push(size < target ? ']' : '[');
      size = next;
    }
    const at = imagePoint(bx + bw / 2, by + bh / 2);
    const screenAt = this.screen(at);
    const centre = imagePoint((screenAt.x - this.session.camera.x) / scale, (screenAt.y - this.session.camera.y) / scale);
    const crop = emptyCrop([0, 0, w, h], w, h);
    paintDisc(crop, centre.x, centre.y, size / scale, 1);
    if (iou(encodeCrop(crop, w, h), mask) < MIN_IOU) return null;
    return { at, keys, cost: keys.length + 1 + (this.session.settings.tool === 'brush' ? 0 : 1) + (this.session.selection.length > 0 ? 1 : 0) };
  }

  /** A project without classes asks for one when something is drawn; a class it lacks is added from the panel. */
  private async answerClassQuestion(name: string): Promise<void> {
    if (this.session.askingForClass) {
      await this.type(name);
      await this.session.answerClass(name);
      await this.settle();
    }
    if (!this.categoryNamed(name)) {
      await this.panelClick(() => {}); // the New class field
      await this.type(name);
      await this.session.createClass(name);
      await this.settle();
    }
  }

  private async classKey(name: string): Promise<void> {
    const index = this.session.categories.findIndex((c) => c.name === name);
    if (index < 0 || index > 8) throw new Error(`no class key for ${name}`);
    await this.key(String(index + 1));
  }

  /** Selects a shown instance with a click on it (again, to cycle, where others overlap it); from its panel row if it must. */
  private async select(target: Annotation): Promise<void> {
    const session = this.session;
    if (session.settings.tool !== 'select') await this.key('v');
    if (session.primary === target.id && session.selection.length === 1) return;
    const spot = pickSpot(target, (p) => hitTest(session.document!, (a) => session.isPickable(a), p));
    if (spot) {
      for (let tries = 0; tries < 3 && session.primary !== target.id; tries++) await this.click(spot);
      if (session.primary === target.id && session.selection.length === 1) return;
    }
    await this.panelClick(() => session.selectAndReveal(target.id));
  }

  // ---- the review loop ----

  /** Works through every image needing review, each ended with Enter (which opens the next). */
  private async reviewAll(work: (truth: SceneTruth) => Promise<void>): Promise<void> {
    const session = this.session;
    for (let n = 0; n < this.truth.size + 5; n++) {
      const image = session.image;
      if (!image || image.status === 'reviewed') break;
      const truth = this.truth.get(image.path);
      if (!truth) throw new Error(`no ground truth for ${image.path}`);
      await work(truth);
      await this.key('Enter');
      // Enter settles the image in main, then opens the next one needing review (or says every image is).
      const started = Date.now();
      while (session.image?.id === image.id && !/Every image is reviewed/.test(session.message)) {
        if (Date.now() - started > 30_000) throw new Error(`${image.path}: Enter did not move on: ${session.message}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await this.settle();
      if (session.image?.id === image.id) break;
    }
  }

  private categoryNamed(name: string): Category | undefined {
    return this.session.categories.find((c) => c.name === name);
  }

  private note(kind: string, n = 1): void {
    this.fixes[kind] = (this.fixes[kind] ?? 0) + n;
  }

  /** What the project now holds, against the ground truth. */
  async result(api: Api): Promise<RunResult> {
    const { categories } = await api.invoke('categories.list', {});
    const nameOf = new Map(categories.map((c) => [c.id as number, c.name]));
    const { items } = await api.invoke('images.list', { limit: 1000 });
    let instances = 0;
    let missed = 0;
    let extra = 0;
    for (const image of items) {
      const truth = this.truth.get(image.path);
      if (!truth) continue;
      if (image.status !== 'reviewed') throw new Error(`${image.path} was left ${image.status}`);
      const kept = (await api.invoke('annotations.list', { imageId: image.id })).annotations.filter((a) => a.state === 'accepted');
      const used = new Set<string>();
      for (const instance of truth.instances) {
        instances++;
        const match = kept.find((a) => !used.has(a.id) && a.mask && nameOf.get(a.categoryId) === instance.className && iou(a.mask, instance.mask) >= MIN_IOU);
        if (match) used.add(match.id);
        else missed++;
      }
      extra += kept.length - used.size;
    }
    return { actions: this.actions, tally: { ...this.tally }, instances, missed, extra, fixes: { ...this.fixes } };
  }
}

/** The fewest-corner outline of the mask (simplified harder and harder) that still rasterises to IoU >= aim with it. */
export function polygonFor(mask: Rle, aim: number): number[] {
  const [h, w] = mask.size;
  const bits = decode(mask);
  let best: number[] | null = null;
  for (const tolerance of [16, 12, 9, 7, 5, 4, 3, 2.5, 2, 1.5, 1.2, 1, 0.75, 0.5]) {
    const [outline] = maskToPolygons(bits, tolerance).sort((a, b) => b.length - a.length);
    if (!outline || outline.length < 6) continue;
    if (iou(polygonsToRle([outline], h, w), mask) >= aim) {
      best = outline;
      break;
    }
  }
  if (!best) throw new Error('no polygon reaches the target IoU');
  return best;
}

/** How far p is from the outlines, and the nearest point on them. */
function distanceToOutline(p: ImagePoint, polygons: readonly (readonly ImagePoint[])[]): { distance: number; nearest: ImagePoint } {
  let best = { distance: Infinity, nearest: p };
  for (const poly of polygons) {
    for (let i = 0; i < poly.length; i++) {
      const [a, b] = [poly[i]!, poly[(i + 1) % poly.length]!];
      const [dx, dy] = [b.x - a.x, b.y - a.y];
      const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / Math.max(1e-9, dx * dx + dy * dy)));
      const q = imagePoint(a.x + t * dx, a.y + t * dy);
      const distance = Math.hypot(p.x - q.x, p.y - q.y);
      if (distance < best.distance) best = { distance, nearest: q };
    }
  }
  return best;
}

/** A pixel of the instance's mask, nearest its box's centre, where a click selects it first (none above it there). */
function pickSpot(target: Annotation, under: (p: ImagePoint) => readonly AnnotationId[]): ImagePoint | null {
  const mask = decode(target.mask!);
  const [bx, by, bw, bh] = toBbox(target.mask!);
  const step = Math.max(1, Math.floor(Math.min(bw, bh) / 8));
  const spots: ImagePoint[] = [];
  for (let y = by; y < by + bh; y += step) {
    for (let x = bx; x < bx + bw; x += step) if (mask.data[Math.floor(y) * mask.width + Math.floor(x)]) spots.push(imagePoint(Math.floor(x) + 0.5, Math.floor(y) + 0.5));
  }
  const [cx, cy] = [bx + bw / 2, by + bh / 2];
  spots.sort((p, q) => (p.x - cx) ** 2 + (p.y - cy) ** 2 - ((q.x - cx) ** 2 + (q.y - cy) ** 2));
  return spots.find((p) => under(p)[0] === target.id) ?? spots[0] ?? null;
}
