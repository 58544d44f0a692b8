// The annotations of the image under review and every edit made to them: each edit is one plain-data diff
// (app/history), applied locally, pushed on the image's undo stack and saved at once, in order.
// Headless: no Konva, no DOM. Selection and tools live in the session, not here.
import { applyDiff, DiffConflictError, isEmpty, UndoStack, type Change, type Diff, type Step } from '../../app/history/index.js';
import { clampBbox } from '../../app/geometry/bbox.js';
import { decode, encode, maskBounds, toBbox, type BitMask } from '../../app/geometry/rle.js';
import type { Disposable } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Bbox, CategoryId, ImageRecord, ImageStatus, ReviewState, Rle } from '../../app/model/index.js';
import { boundsWithin, clipMask, encodeCrop, encodeWithin, remapMask, shiftMask, type Crop } from './mask-ops.js';
import { combine } from './rle-ops.js';

/** The image's undo history: annotation diffs, and for a review the image's status before and after it. */
export type ImageHistory = UndoStack<Annotation, ImageStatus>;

export interface DocumentOptions {
  readonly image: ImageRecord;
  readonly annotations: readonly Annotation[];
  /** Persists one edit (with the image's status, when the step changes it); rejects when main refuses it. */
  readonly save: (diff: Diff<Annotation>, status?: ImageStatus) => Promise<unknown>;
  readonly newId: () => AnnotationId;
  /** The image's undo history, kept by the caller so it survives moving to another image and back. */
  readonly history?: ImageHistory;
}

export interface NewInstance {
  readonly categoryId: CategoryId;
  readonly bbox: Bbox;
  /** The mask as pixels of the whole image, or already encoded (a tool that never expands it to pixels). */
  readonly mask: BitMask | Rle | null;
}

export interface ResizeOptions {
  /** Scale the mask with the box (the explicit option); by default the mask is kept and clipped to the new box. */
  readonly scaleMask?: boolean;
}

export class AnnotationDocument implements Disposable {
  readonly image: ImageRecord;
  private list: Annotation[];
  private readonly history: ImageHistory;
  private readonly listeners = new Set<() => void>();
  private readonly masks = new Map<AnnotationId, { counts: string; mask: BitMask }>();
  private saving: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly save: DocumentOptions['save'];
  private readonly newId: () => AnnotationId;
  /** The last save failure; cleared by the next successful save. */
  saveError: Error | null = null;
  /** Something the person should be told (not an error). */
  notice: string | null = null;

  constructor(options: DocumentOptions) {
    this.image = options.image;
    this.list = [...options.annotations];
    this.save = options.save;
    this.newId = options.newId;
    this.history = options.history ?? new UndoStack<Annotation, ImageStatus>();
  }

  get annotations(): readonly Annotation[] {
    return this.list;
  }

  get canUndo(): boolean {
    return this.history.canUndo;
  }

  get canRedo(): boolean {
    return this.history.canRedo;
  }

  /** Edits made but not yet confirmed saved. */
  get unsaved(): number {
    return this.pending;
  }

  get(id: AnnotationId): Annotation | undefined {
    return this.list.find((a) => a.id === id);
  }

  /** The annotation's mask as pixels, decoded once per mask version. */
  mask(id: AnnotationId): BitMask | null {
    const a = this.get(id);
    if (!a?.mask) return null;
    const cached = this.masks.get(id);
    if (cached?.counts === a.mask.counts) return cached.mask;
    const mask = decode(a.mask);
    this.masks.set(id, { counts: a.mask.counts, mask });
    return mask;
  }

  /** Called after every change to the annotations (an edit, undo or redo) and after a failed save. */
  onChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  dispose(): void {
    this.listeners.clear();
  }

  /** Applies one edit locally as one undo step and saves it; false when it changes nothing. */
  commit(diff: Diff<Annotation>): boolean {
    if (isEmpty(diff)) return false;
    this.list = applyDiff(this.list, diff);
    this.history.push(diff);
    this.persist(diff);
    return true;
  }

  /**
   * Shows a step main has already applied and saved (marking the image reviewed), and makes it one undo step: its
   * undo restores the annotations and the image's status in one save. False when it no longer fits what is shown.
   */
  recordApplied(diff: Diff<Annotation>, status?: Change<ImageStatus>): boolean {
    try {
      this.list = applyDiff(this.list, diff);
    } catch (error) {
      if (error instanceof DiffConflictError) return false;
      throw error;
    }
    this.history.push(diff, status);
    this.notify();
    return true;
  }

  undo(): boolean {
    return this.replay(this.history.undoStep());
  }

  redo(): boolean {
    return this.replay(this.history.redoStep());
  }

  /** Resolves when every edit so far has been saved (or has failed). */
  whenSaved(): Promise<void> {
    return this.saving;
  }

  // ---- edits: each is one undo step ----

  /** Adds an instance made by a person. */
  add(fields: NewInstance): AnnotationId {
    const id = this.newId();
    const mask = fields.mask && ('counts' in fields.mask ? fields.mask : encode(fields.mask));
    this.commit({
      added: [{
        id, imageId: this.image.id, categoryId: fields.categoryId, bbox: fields.bbox, mask,
        score: null, origin: 'human', modelId: null, state: 'accepted',
      }],
      updated: [],
      removed: [],
    });
    return id;
  }

  setCategory(ids: readonly AnnotationId[], categoryId: CategoryId): void {
    this.update(ids, (a) => (a.categoryId === categoryId ? a : edited(a, { categoryId })));
  }

  /** Marks (or unmarks) instances as one region over a group of objects: COCO's iscrowd. */
  setCrowd(ids: readonly AnnotationId[], crowd: boolean): void {
    this.update(ids, (a) => {
      if ((a.crowd ?? false) === crowd) return a;
      const { crowd: _was, ...single } = a;
      return edited(crowd ? { ...a, crowd } : single, {});
    });
  }

  setState(ids: readonly AnnotationId[], state: ReviewState): void {
    this.update(ids, (a) => (a.state === state ? a : { ...a, state }));
  }

  /** Accepts every pending prediction scoring at least `threshold` (of those `among` keeps); returns how many. */
  acceptAbove(threshold: number, among: (a: Annotation) => boolean = () => true): number {
    const ids = this.list.filter((a) => a.state === 'pending' && a.score !== null && a.score >= threshold && among(a)).map((a) => a.id);
    this.setState(ids, 'accepted');
    return ids.length;
  }

  /** Rejects every pending prediction scoring below `threshold` (of those `among` keeps); returns how many. */
  rejectBelow(threshold: number, among: (a: Annotation) => boolean = () => true): number {
    const ids = this.list.filter((a) => a.state === 'pending' && a.score !== null && a.score < threshold && among(a)).map((a) => a.id);
    this.setState(ids, 'rejected');
    return ids.length;
  }

  remove(ids: readonly AnnotationId[]): void {
    this.commit({ added: [], updated: [], removed: this.list.filter((a) => ids.includes(a.id)) });
  }

  /**
   * Replaces the mask (brush, eraser, fill, vertex edit); the box follows it, and an emptied mask removes the
   * instance. `within`, when given, holds every set pixel: only it is read. The document keeps `mask` as the
   * decoded mask (do not change it after).
   */
  setMask(id: AnnotationId, mask: BitMask, within?: Bbox): void {
    const bounds = within ? boundsWithin(mask, within) : maskBounds(mask);
    if (!bounds) return this.remove([id]);
    const rle = encodeWithin(mask, bounds);
    this.update([id], (a) => edited(a, { mask: rle, bbox: bounds }));
    if (this.get(id)?.mask?.counts === rle.counts) this.masks.set(id, { counts: rle.counts, mask });
  }

  /** Replaces the mask with one already encoded (`bbox`: its box, when known); an empty one removes the instance. */
  setRle(id: AnnotationId, rle: Rle, bbox: Bbox = toBbox(rle)): void {
    if (bbox[2] === 0 || bbox[3] === 0) return this.remove([id]);
    this.update([id], (a) => edited(a, { mask: rle, bbox }));
  }

  /**
   * Sets (value 1, brush) or clears (value 0, eraser) in an instance's mask the pixels set in `painted`, a crop
   * whose set pixels all lie in `within` (image pixels). Only that box is read; it is encoded and merged into the
   * mask's runs (rle-ops.ts), so a stroke costs what the stroke covers, whatever the size of the instance or the
   * image. A box-only instance gets its first mask; an emptied one is removed.
   */
  paintMask(id: AnnotationId, painted: Crop, within: Bbox, value: 0 | 1): void {
    const a = this.get(id);
    if (!a || (!a.mask && value === 0)) return;
    const stroke = encodeCrop(painted, this.image.width, this.image.height, within);
    if (!a.mask) return this.setRle(id, stroke);
    this.setRle(id, combine(a.mask, stroke, value === 1 ? (m, p) => m || p : (m, p) => m && !p));
  }

  /**
   * Moves instances together, their masks with them, kept inside the image. Masks move by whole pixels, so a
   * move of instances with masks is rounded to whole pixels.
   */
  translate(ids: readonly AnnotationId[], dx: number, dy: number): void {
    const targets = this.list.filter((a) => ids.includes(a.id));
    if (targets.length === 0) return;
    const { width, height } = this.image;
    const lowX = -Math.min(...targets.map((a) => a.bbox[0]));
    const highX = width - Math.max(...targets.map((a) => a.bbox[0] + a.bbox[2]));
    const lowY = -Math.min(...targets.map((a) => a.bbox[1]));
    const highY = height - Math.max(...targets.map((a) => a.bbox[1] + a.bbox[3]));
    const whole = targets.some((a) => a.mask);
    const mx = whole ? clamp(Math.round(dx), Math.ceil(lowX), Math.floor(highX)) : clamp(dx, lowX, highX);
    const my = whole ? clamp(Math.round(dy), Math.ceil(lowY), Math.floor(highY)) : clamp(dy, lowY, highY);
    if (mx === 0 && my === 0) return;
    this.update(ids, (a) => {
      const [x, y, w, h] = a.bbox;
      const bbox = round2([x + mx, y + my, w, h]);
      const mask = this.mask(a.id);
      return edited(a, mask ? { bbox, mask: encode(shiftMask(mask, mx, my)) } : { bbox });
    });
  }

  /**
   * Gives the instance a new box (clamped to the image). Its mask is kept and clipped to the box, or scaled
   * with it when asked; a mask clipped away entirely leaves a box-only instance.
   */
  resize(id: AnnotationId, box: Bbox, options: ResizeOptions = {}): void {
    const bbox = round2(clampBbox(box, this.image.width, this.image.height));
    if (bbox[2] <= 0 || bbox[3] <= 0) return;
    this.update([id], (a) => {
      if (a.bbox.every((v, i) => v === bbox[i])) return a;
      const mask = this.mask(a.id);
      if (!mask) return edited(a, { bbox });
      const fitted = options.scaleMask ? remapMask(mask, a.bbox, bbox) : clipMask(mask, bbox);
      return edited(a, { bbox, mask: maskBounds(fitted) ? encode(fitted) : null });
    });
  }

  private update(ids: readonly AnnotationId[], change: (a: Annotation) => Annotation): void {
    const updated = this.list
      .filter((a) => ids.includes(a.id))
      .map((before) => ({ before, after: change(before) }))
      .filter(({ before, after }) => before !== after);
    this.commit({ added: [], updated, removed: [] });
  }

  /**
   * Applies an undo/redo step. A step that no longer fits (the annotations changed outside this history,
   * e.g. a pre-label run replaced predictions) clears the history instead of guessing.
   */
  private replay(step: Step<Annotation, ImageStatus> | null): boolean {
    if (!step) return false;
    try {
      this.list = applyDiff(this.list, step.diff);
    } catch (error) {
      if (!(error instanceof DiffConflictError)) throw error;
      this.history.clear();
      this.notice = 'The annotations changed since that step, so the undo history was cleared.';
      this.notify();
      return false;
    }
    this.persist(step.diff, step.also?.after);
    return true;
  }

  private persist(diff: Diff<Annotation>, status?: ImageStatus): void {
    this.pending++;
    this.notify();
    // Saves go one after another, in edit order.
    this.saving = this.saving.then(async () => {
      try {
        await (status === undefined ? this.save(diff) : this.save(diff, status));
        this.saveError = null;
      } catch (error) {
        this.saveError = error instanceof Error ? error : new Error(String(error));
        this.notify();
      } finally {
        this.pending--;
      }
    });
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/** A content edit: a model's prediction becomes 'model-edited' and counts as accepted by the person. */
export function edited(a: Annotation, changes: Partial<Pick<Annotation, 'categoryId' | 'bbox' | 'mask'>>): Annotation {
  const origin = a.origin === 'model' ? 'model-edited' : a.origin;
  return { ...a, ...changes, origin, state: a.state === 'rejected' ? 'rejected' : 'accepted' };
}

const clamp = (v: number, low: number, high: number) => Math.min(Math.max(v, low), Math.max(low, high));
const round2 = ([x, y, w, h]: Bbox): Bbox => [r2(x), r2(y), r2(w), r2(h)];
const r2 = (v: number) => Math.round(v * 100) / 100;
