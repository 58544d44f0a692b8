// The annotations of the image being edited, the selection, and every edit as one undoable diff
// that is saved at once. Headless: no Konva, no DOM.
import { applyDiff, DiffConflictError, UndoStack, type Diff } from '../../app/history/index.js';
import { decode, encode, type BitMask } from '../../app/geometry/rle.js';
import type { AnnotationChanges } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Bbox, CategoryId, ImageRecord, ReviewState } from '../../app/model/index.js';
import { remapMask } from './mask-ops.js';
import { maskBounds } from '../../app/geometry/rle.js';

export type AnnotationDiff = Diff<Annotation>;

export interface ImageEditorOptions {
  readonly image: ImageRecord;
  readonly annotations: readonly Annotation[];
  /** Persists one change; resolves with the image's annotations as stored. */
  readonly save: (changes: AnnotationChanges) => Promise<readonly Annotation[] | void>;
  readonly newId: () => AnnotationId;
  /** The image's undo history, kept by the caller so it survives moving to another image and back. */
  readonly history?: UndoStack<Annotation>;
}

export class ImageEditor {
  readonly image: ImageRecord;
  private list: Annotation[];
  private selected: AnnotationId | null = null;
  private readonly history: UndoStack<Annotation>;
  private readonly listeners = new Set<() => void>();
  private readonly masks = new Map<AnnotationId, { counts: string; mask: BitMask }>();
  private saving: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly save: ImageEditorOptions['save'];
  private readonly newId: () => AnnotationId;
  /** The last save failure, shown to the person; cleared by the next successful save. */
  saveError: Error | null = null;
  /** Something the person should be told (not an error). */
  notice: string | null = null;

  constructor(options: ImageEditorOptions) {
    this.image = options.image;
    this.list = [...options.annotations];
    this.save = options.save;
    this.newId = options.newId;
    this.history = options.history ?? new UndoStack<Annotation>();
  }

  get annotations(): readonly Annotation[] {
    return this.list;
  }

  get selection(): AnnotationId | null {
    return this.selected;
  }

  get canUndo(): boolean {
    return this.history.canUndo;
  }

  get canRedo(): boolean {
    return this.history.canRedo;
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

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  select(id: AnnotationId | null): void {
    if (id !== null && !this.get(id)) return;
    this.selected = id;
    this.notify();
  }

  /** Applies one edit locally as one undo step and saves it. */
  commit(diff: AnnotationDiff): void {
    if (diff.added.length + diff.updated.length + diff.removed.length === 0) return;
    this.list = applyDiff(this.list, diff);
    this.history.push(diff);
    this.persist(diff);
  }

  undo(): boolean {
    return this.replay(this.history.undo());
  }

  redo(): boolean {
    return this.replay(this.history.redo());
  }

  /**
   * Applies an undo/redo step. A step that no longer fits (the annotations changed outside this
   * history, e.g. a pre-label run replaced predictions) clears the history instead of guessing.
   */
  private replay(diff: AnnotationDiff | null): boolean {
    if (!diff) return false;
    try {
      this.list = applyDiff(this.list, diff);
    } catch (error) {
      if (!(error instanceof DiffConflictError)) throw error;
      this.history.clear();
      this.notice = 'The annotations changed since that step, so the undo history was cleared.';
      this.notify();
      return false;
    }
    if (this.selected && !this.get(this.selected)) this.selected = null;
    this.persist(diff);
    return true;
  }

  /** Resolves when every edit so far has been saved (or has failed). */
  whenSaved(): Promise<void> {
    return this.saving;
  }

  // ---- edits: each is one undo step ----

  add(fields: { categoryId: CategoryId; bbox: Bbox; mask: BitMask | null }): AnnotationId {
    const id = this.newId();
    const annotation: Annotation = {
      id,
      imageId: this.image.id,
      categoryId: fields.categoryId,
      bbox: fields.bbox,
      mask: fields.mask ? encode(fields.mask) : null,
      score: null,
      origin: 'human',
      modelId: null,
      state: 'accepted',
    };
    this.selected = id;
    this.commit({ added: [annotation], updated: [], removed: [] });
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

  /** Accepts every pending prediction scoring at least `threshold`. */
  acceptAbove(threshold: number): number {
    const ids = this.list.filter((a) => a.state === 'pending' && a.score !== null && a.score >= threshold).map((a) => a.id);
    this.setState(ids, 'accepted');
    return ids.length;
  }

  remove(ids: readonly AnnotationId[]): void {
    const removed = this.list.filter((a) => ids.includes(a.id));
    if (this.selected && ids.includes(this.selected)) this.selected = null;
    this.commit({ added: [], updated: [], removed });
  }

  /** Moves/resizes the box; the mask follows it. */
  setBox(id: AnnotationId, bbox: Bbox): void {
    const box = clampBox(bbox, this.image.width, this.image.height);
    const mask = this.mask(id);
    this.update([id], (a) => {
      if (!mask) return edited(a, { bbox: box });
      const moved = remapMask(mask, a.bbox, box);
      const bounds = maskBounds(moved);
      return bounds ? edited(a, { bbox: bounds, mask: encode(moved) }) : a;
    });
  }

  /** Replaces the mask (brush, eraser, fill, vertex edit); an emptied mask removes the instance. */
  setMask(id: AnnotationId, mask: BitMask): void {
    const bounds = maskBounds(mask);
    if (!bounds) return this.remove([id]);
    this.update([id], (a) => edited(a, { mask: encode(mask), bbox: bounds }));
  }

  private update(ids: readonly AnnotationId[], change: (a: Annotation) => Annotation): void {
    const updated = this.list
      .filter((a) => ids.includes(a.id))
      .map((before) => ({ before, after: change(before) }))
      .filter(({ before, after }) => before !== after);
    this.commit({ added: [], updated, removed: [] });
  }

  /** Edits made but not yet confirmed saved. */
  get unsaved(): number {
    return this.pending;
  }

  private persist(diff: AnnotationDiff): void {
    this.pending++;
    this.notify();
    // Saves go one after another, in edit order.
    this.saving = this.saving.then(async () => {
      try {
        await this.save({ added: [...diff.added], updated: [...diff.updated], removed: [...diff.removed] });
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
function edited(a: Annotation, changes: Partial<Pick<Annotation, 'categoryId' | 'bbox' | 'mask'>>): Annotation {
  const origin = a.origin === 'model' ? 'model-edited' : a.origin;
  return { ...a, ...changes, origin, state: a.state === 'rejected' ? 'rejected' : 'accepted' };
}

function clampBox([x, y, w, h]: Bbox, width: number, height: number): Bbox {
  const x0 = Math.max(0, Math.min(width, x));
  const y0 = Math.max(0, Math.min(height, y));
  const x1 = Math.max(x0, Math.min(width, x + w));
  const y1 = Math.max(y0, Math.min(height, y + h));
  return [round2(x0), round2(y0), round2(x1 - x0), round2(y1 - y0)];
}

const round2 = (v: number) => Math.round(v * 100) / 100;
