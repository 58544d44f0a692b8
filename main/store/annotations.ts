import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { RleError, toCounts } from '../../app/geometry/rle.js';
import type { Diff, Update } from '../../app/history/diff.js';
import {
  AnnotationId,
  CategoryId,
  ConflictError,
  InvalidInputError,
  NotFoundError,
  ImageId,
  ModelId,
  ORIGINS,
  REVIEW_STATES,
  type Annotation,
  type Bbox,
  type ImageStatus,
  type Origin,
  type ReviewState,
  type Rle,
  type StaleSize,
} from '../../app/model/index.js';
import type { ChangeActor, HistoryAction, HistoryRepository } from './history.js';
import { PRELABEL_FAILED } from './runs.js';

/** What writing one image's predictions did. */
export interface PredictionsWritten {
  readonly annotations: Annotation[];
  /** Pending predictions of other models on the image, replaced: an image holds one model's pending set. */
  readonly replaced: number;
}

/** One detection from a model, before it is an annotation. */
export interface Prediction {
  readonly id?: AnnotationId;
  readonly categoryId: CategoryId;
  readonly bbox: Bbox;
  readonly mask: Rle | null;
  readonly score: number;
}

interface AnnotationRow {
  id: string;
  image_id: number;
  category_id: number;
  x: number;
  y: number;
  w: number;
  h: number;
  mask_counts: string | null;
  mask_height: number | null;
  mask_width: number | null;
  score: number | null;
  origin: Origin;
  model_id: number | null;
  state: ReviewState;
  crowd: 0 | 1;
  stale_width: number | null;
  stale_height: number | null;
}

const columns =
  'id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width, score, origin, model_id, state, crowd, stale_width, stale_height';

export function toAnnotation(row: AnnotationRow): Annotation {
  return {
    id: AnnotationId(row.id),
    imageId: ImageId(row.image_id),
    categoryId: CategoryId(row.category_id),
    bbox: [row.x, row.y, row.w, row.h],
    mask:
      row.mask_counts === null
        ? null
        : { size: [row.mask_height!, row.mask_width!], counts: row.mask_counts },
    score: row.score,
    origin: row.origin,
    modelId: row.model_id === null ? null : ModelId(row.model_id),
    state: row.state,
    ...(row.crowd === 1 ? { crowd: true } : {}),
    ...(row.stale_width !== null && row.stale_height !== null ? { stale: { width: row.stale_width, height: row.stale_height } } : {}),
  };
}

function toParams(a: Annotation) {
  return {
    id: a.id,
    imageId: a.imageId,
    categoryId: a.categoryId,
    x: a.bbox[0],
    y: a.bbox[1],
    w: a.bbox[2],
    h: a.bbox[3],
    maskCounts: a.mask?.counts ?? null,
    maskHeight: a.mask?.size[0] ?? null,
    maskWidth: a.mask?.size[1] ?? null,
    score: a.score,
    origin: a.origin,
    modelId: a.modelId,
    state: a.state,
    crowd: a.crowd ? 1 : 0,
    staleWidth: a.stale?.width ?? null,
    staleHeight: a.stale?.height ?? null,
  };
}

/** Throws with the annotation's id and the reason when it cannot be stored as it is. */
export function validateAnnotation(a: Annotation): void {
  const fail = (reason: string) => {
    throw new InvalidInputError(`annotation ${a.id}: ${reason}`);
  };
  if (typeof a.id !== 'string' || a.id.length === 0) fail('needs a string id');
  if (a.bbox.length !== 4 || !a.bbox.every(Number.isFinite)) fail(`bbox must be 4 finite numbers, got ${JSON.stringify(a.bbox)}`);
  if (a.bbox[2] < 0 || a.bbox[3] < 0) fail('bbox width and height must not be negative');
  if (a.mask) {
    const [h, w] = a.mask.size;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) fail(`mask size must be positive integers, got ${JSON.stringify(a.mask.size)}`);
    if (typeof a.mask.counts !== 'string') fail('mask counts must be the compressed RLE string');
  }
  if (a.score !== null && !(a.score >= 0 && a.score <= 1)) fail(`score must be between 0 and 1, got ${a.score}`);
  if (a.crowd !== undefined && typeof a.crowd !== 'boolean') fail(`crowd must be true or false, got ${JSON.stringify(a.crowd)}`);
  if (a.stale !== undefined && !(Number.isInteger(a.stale.width) && Number.isInteger(a.stale.height) && a.stale.width > 0 && a.stale.height > 0)) {
    fail(`stale must be the positive width and height it was made for, got ${JSON.stringify(a.stale)}`);
  }
  if (!ORIGINS.includes(a.origin)) fail(`unknown origin '${a.origin}'`);
  if (!REVIEW_STATES.includes(a.state)) fail(`unknown state '${a.state}'`);
  if (a.origin !== 'human' && a.modelId === null) fail(`origin '${a.origin}' needs the model id`);
}

/**
 * Throws unless the annotation's mask decodes (its runs fill its size exactly) and is the size of its image
 * (height x width as displayed); a stale annotation's mask may instead be the size it was made for.
 */
export function checkMaskFits(a: Annotation, image: { readonly width: number; readonly height: number }): void {
  if (!a.mask) return;
  try {
    toCounts(a.mask);
  } catch (error) {
    if (error instanceof RleError) throw new InvalidInputError(`annotation ${a.id}: mask does not decode: ${error.message}`);
    throw error;
  }
  const [h, w] = a.mask.size;
  const madeFor = a.stale ?? image;
  if (h !== madeFor.height || w !== madeFor.width) {
    throw new InvalidInputError(
      `annotation ${a.id}: mask is ${h} x ${w} but ${a.stale ? 'it was made for' : 'its image is'} ${madeFor.height} x ${madeFor.width} (height x width)`,
    );
  }
}

const sameContent = (a: Annotation, b: Annotation) =>
  a.categoryId === b.categoryId &&
  a.bbox.every((v, i) => v === b.bbox[i]) &&
  (a.mask?.counts ?? null) === (b.mask?.counts ?? null) &&
  (a.mask?.size[0] ?? null) === (b.mask?.size[0] ?? null) &&
  (a.mask?.size[1] ?? null) === (b.mask?.size[1] ?? null) &&
  (a.crowd ?? false) === (b.crowd ?? false);

/** Alike in every stored field (an absent crowd is false; an absent stale is none). */
export function sameAnnotation(a: Annotation, b: Annotation): boolean {
  return (
    a.id === b.id && a.imageId === b.imageId && a.origin === b.origin && a.modelId === b.modelId && a.state === b.state &&
    a.score === b.score && sameContent(a, b) && (a.stale?.width ?? null) === (b.stale?.width ?? null) &&
    (a.stale?.height ?? null) === (b.stale?.height ?? null)
  );
}

/** What a client may show when its edit was made against annotations that have changed since it loaded them. */
export const CHANGED_ELSEWHERE = 'this annotation changed elsewhere since it was loaded';

/** Which history action an update is: a pure state change is 'accepted'/'rejected', anything else 'updated'. */
function updateAction(before: Annotation, after: Annotation): HistoryAction {
  const onlyState =
    sameContent(before, after) && before.origin === after.origin && before.score === after.score && before.state !== after.state;
  if (onlyState && after.state === 'accepted') return 'accepted';
  if (onlyState && after.state === 'rejected') return 'rejected';
  return 'updated';
}

/**
 * The stored origin of an update: a person changing a model's prediction makes it 'model-edited'; a
 * prediction never becomes 'human' nor a person's annotation a prediction. Undoing back to the model's own
 * geometry may say 'model' again.
 */
function resolveOrigin(before: Annotation, after: Annotation, actor: ChangeActor): Origin {
  if ((before.origin === 'human') !== (after.origin === 'human')) {
    throw new InvalidInputError(`annotation ${after.id}: origin cannot change from '${before.origin}' to '${after.origin}'`);
  }
  if (actor === 'human' && after.origin === 'model' && before.origin === 'model' && !sameContent(before, after)) {
    return 'model-edited';
  }
  return after.origin;
}

/** Options of one edit: the image's status set in the same transaction (an undo of 'mark reviewed' restores it). */
export interface ApplyOptions {
  readonly status?: ImageStatus;
}

interface ImageSize {
  readonly width: number;
  readonly height: number;
  readonly status: ImageStatus;
}

export class AnnotationRepository {
  private readonly byId: Statement<[string], AnnotationRow>;
  private readonly byImage: Statement<[number], AnnotationRow>;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly remove: Statement<[string]>;
  private readonly pendingOf: Statement<[number], AnnotationRow>;
  private readonly touchImage: Statement<[number]>;
  private readonly imageSize: Statement<[number], ImageSize>;
  private readonly setImageStatus: Statement<[ImageStatus, number]>;

  constructor(
    private readonly db: Database,
    private readonly history: HistoryRepository,
  ) {
    this.byId = db.prepare(`SELECT ${columns} FROM annotations WHERE id = ?`);
    this.byImage = db.prepare(`SELECT ${columns} FROM annotations WHERE image_id = ? ORDER BY rowid`);
    this.insert = db.prepare(`
      INSERT INTO annotations (id, image_id, category_id, x, y, w, h, mask_counts, mask_height, mask_width,
        score, origin, model_id, state, crowd, stale_width, stale_height)
      VALUES (@id, @imageId, @categoryId, @x, @y, @w, @h, @maskCounts, @maskHeight, @maskWidth,
        @score, @origin, @modelId, @state, @crowd, @staleWidth, @staleHeight)`);
    this.update = db.prepare(`
      UPDATE annotations SET category_id = @categoryId, x = @x, y = @y, w = @w, h = @h,
        mask_counts = @maskCounts, mask_height = @maskHeight, mask_width = @maskWidth, score = @score,
        origin = @origin, state = @state, crowd = @crowd, stale_width = @staleWidth, stale_height = @staleHeight,
        updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = @id`);
    this.remove = db.prepare(`DELETE FROM annotations WHERE id = ?`);
    this.pendingOf = db.prepare(`
      SELECT ${columns} FROM annotations WHERE image_id = ? AND origin = 'model' AND state = 'pending' ORDER BY rowid`);
    // A person's first edit moves an image into review (one whose pre-label failed too); 'reviewed' is only ever set
    // on purpose.
    this.touchImage = db.prepare(`
      UPDATE images SET status = 'in-review', error = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
      WHERE id = ? AND (status IN ('new', 'predicted') OR (status = 'error' AND ${PRELABEL_FAILED}))`);
    this.imageSize = db.prepare(`SELECT width, height, status FROM images WHERE id = ?`);
    this.setImageStatus = db.prepare(`
      UPDATE images SET status = ?, error = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`);
  }

  get(id: AnnotationId): Annotation | undefined {
    const row = this.byId.get(id);
    return row && toAnnotation(row);
  }

  /** The annotations of one image in the order they were made (rejected ones included: they carry the review). */
  forImage(imageId: ImageId): Annotation[] {
    return this.byImage.all(imageId).map(toAnnotation);
  }

  /**
   * Saves one edit of one image (one undo step), rows and history, in one transaction: all of it or none of it.
   * The edit was made against what its maker had loaded: each updated or removed annotation's `before` must be what
   * the store holds, and an added id must be new, or the whole edit is refused with a ConflictError (it changed
   * elsewhere since it was loaded: another window, a pre-label run, an undo that no longer fits). Every mask must
   * decode and be the image's size. A person's update to a model prediction stores it as 'model-edited' and, as an
   * edit is a decision, accepted. `status` sets the image's status in the same transaction: before the changes,
   * or after them when it is 'reviewed' (a reviewed image never holds a pending prediction or a stale annotation).
   * Returns the edit as stored: its inverse undoes it.
   */
  apply(imageId: ImageId, diff: Diff<Annotation>, actor: ChangeActor = 'human', options: ApplyOptions = {}): Diff<Annotation> {
    return this.db.transaction((): Diff<Annotation> => {
      const image = this.requireImage(imageId);
      const { status } = options;
      if (status !== undefined && status !== 'reviewed') this.setImageStatus.run(status, imageId);
      const updated: Update<Annotation>[] = [];
      for (const expected of diff.removed) {
        const before = this.requireAsLoaded(imageId, expected);
        this.remove.run(before.id);
        this.history.record('deleted', before, null, actor);
      }
      for (const { before: expected, after: incoming } of diff.updated) {
        if (expected.id !== incoming.id) throw new InvalidInputError(`annotation ${expected.id}: an update cannot change its id to ${incoming.id}`);
        const before = this.requireAsLoaded(imageId, expected);
        const origin = resolveOrigin(before, incoming, actor);
        const after: Annotation = {
          ...incoming,
          imageId,
          modelId: before.modelId,
          origin,
          state: origin === 'model-edited' && incoming.state === 'pending' && !sameContent(before, incoming) ? 'accepted' : incoming.state,
        };
        validateAnnotation(after);
        checkMaskFits(after, image);
        this.update.run(toParams(after));
        this.history.record(updateAction(before, after), before, after, actor);
        updated.push({ before, after });
      }
      for (const incoming of diff.added) {
        if (incoming.imageId !== imageId) {
          throw new InvalidInputError(`annotation ${incoming.id} belongs to image ${incoming.imageId}, not ${imageId}`);
        }
        if (this.byId.get(incoming.id)) throw new ConflictError(`annotation ${incoming.id} already exists: ${CHANGED_ELSEWHERE}`);
        this.insertOne(incoming, actor, image);
      }
      if (status === 'reviewed') this.setImageStatus.run(status, imageId);
      else if (status === undefined && actor === 'human' && diff.added.length + diff.updated.length + diff.removed.length > 0) {
        this.touchImage.run(imageId);
      }
      return { added: diff.added, updated, removed: diff.removed };
    })();
  }

  /**
   * Writes a model's predictions for one image. An image holds one pending set: every pending, unedited prediction
   * on it (of this model or another) is replaced; a person's, an edited, an accepted or a rejected one never is.
   * A reviewed image is refused (callers skip it).
   */
  replaceModelPredictions(imageId: ImageId, modelId: ModelId, predictions: readonly Prediction[]): PredictionsWritten {
    return this.db.transaction((): PredictionsWritten => {
      const image = this.requireImage(imageId);
      if (image.status === 'reviewed') throw new Error(`image ${imageId} is reviewed: pre-labeling leaves it alone`);
      const previous = this.pendingOf
        .all(imageId)
        .map(toAnnotation);
      for (const annotation of previous) {
        this.remove.run(annotation.id);
        this.history.record('deleted', annotation, null, 'model');
      }
      const annotations = predictions.map((p) => {
        const annotation: Annotation = {
          id: p.id ?? AnnotationId(randomUUID()),
          imageId,
          categoryId: p.categoryId,
          bbox: p.bbox,
          mask: p.mask,
          score: p.score,
          origin: 'model',
          modelId,
          state: 'pending',
        };
        this.insertOne(annotation, 'model', image, false);
        return annotation;
      });
      return { annotations, replaced: previous.filter((a) => a.modelId !== modelId).length };
    })();
  }

  /**
   * The image's file now holds other content (a rescan found another hash): its pending predictions are dropped and
   * every other annotation is kept but marked stale with the size it was made for (`madeFor`, unless already stale),
   * each with a history entry by 'system'. Call after the image has left 'reviewed'.
   */
  forgetChangedContent(imageId: ImageId, madeFor: StaleSize): { dropped: number; staled: number } {
    return this.db.transaction(() => {
      let dropped = 0;
      let staled = 0;
      for (const before of this.forImage(imageId)) {
        if (before.origin === 'model' && before.state === 'pending') {
          this.remove.run(before.id);
          this.history.record('deleted', before, null, 'system');
          dropped++;
        } else if (before.stale === undefined) {
          const after: Annotation = { ...before, stale: { width: madeFor.width, height: madeFor.height } };
          this.update.run(toParams(after));
          this.history.record('updated', before, after, 'system');
          staled++;
        }
      }
      return { dropped, staled };
    })();
  }

  /** Pending predictions of the image (what a rescan drops when its file changed). */
  pendingPredictions(imageId: ImageId): Annotation[] {
    return this.pendingOf.all(imageId).map(toAnnotation);
  }

  private insertOne(annotation: Annotation, actor: ChangeActor, image: ImageSize, decode = true): void {
    validateAnnotation(annotation);
    // A model's own output is trusted to decode; its size is still checked.
    if (decode) checkMaskFits(annotation, image);
    else if (annotation.mask && (annotation.mask.size[0] !== image.height || annotation.mask.size[1] !== image.width)) {
      throw new Error(`annotation ${annotation.id}: mask is ${annotation.mask.size.join(' x ')} but its image is ${image.height} x ${image.width}`);
    }
    try {
      this.insert.run(toParams(annotation));
    } catch (error) {
      throw new Error(`annotation ${annotation.id}: ${describeConstraint(error)}`, { cause: error });
    }
    this.history.record('created', null, annotation, actor);
  }

  private requireImage(imageId: ImageId): ImageSize {
    const image = this.imageSize.get(imageId);
    if (!image) throw new NotFoundError(`image ${imageId} does not exist`);
    return image;
  }

  /** The stored annotation, which must be the one the edit was made against. */
  private requireAsLoaded(imageId: ImageId, expected: Annotation): Annotation {
    const row = this.byId.get(expected.id);
    if (!row) throw new ConflictError(`annotation ${expected.id} does not exist: ${CHANGED_ELSEWHERE}`);
    if (row.image_id !== imageId) throw new InvalidInputError(`annotation ${expected.id} belongs to image ${row.image_id}, not ${imageId}`);
    const stored = toAnnotation(row);
    if (!sameAnnotation(stored, expected)) throw new ConflictError(`annotation ${expected.id}: ${CHANGED_ELSEWHERE}`);
    return stored;
  }
}

function describeConstraint(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('UNIQUE constraint failed: annotations.id')) return 'an annotation with this id already exists';
  if (message.includes('FOREIGN KEY')) return 'its category or model does not exist';
  if (message.includes('a reviewed image cannot hold')) return `its image is reviewed: ${message}`;
  return message;
}
