import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encode } from '../../app/geometry/rle.js';
import { diffOf } from '../../app/history/diff.js';
import { AnnotationId, CategoryId, ConflictError, type Annotation, type ImageId, type ModelId } from '../../app/model/index.js';
import { CHANGED_ELSEWHERE, type Prediction } from './annotations.js';
import { hasFullScan, queryPlan } from './queryPlan.js';
import { humanBox, imageFile, temporaryProject } from './store.test-support.js';

let project: ReturnType<typeof temporaryProject>;
let imageId: ImageId;
let circle: CategoryId;
let star: CategoryId;
let modelId: ModelId;

beforeEach(() => {
  project = temporaryProject();
  const { images, categories, models } = project.store;
  [imageId] = images.writeFiles([{ file: imageFile('a.jpg') }]) as [ImageId];
  [circle, star] = categories.ensure(['circle', 'star']).map((c) => c.id) as [CategoryId, CategoryId];
  modelId = models.register({
    name: 'shapes', format: 'torchvision-maskrcnn', labels: ['__background__', 'circle', 'star'], card: {},
    path: '/m.onnx', sha256: 'abc',
  }).id;
});
afterEach(() => project.dispose());

const prediction = (bbox: [number, number, number, number], score = 0.9): Prediction => ({
  categoryId: circle,
  bbox,
  mask: encode({ width: 64, height: 48, data: new Uint8Array(64 * 48).fill(1, 0, 64 * 10) }),
  score,
});

describe('annotations.apply', () => {
  it('adds, updates and removes with one history entry each', () => {
    const { annotations, history, images } = project.store;
    const a = humanBox(imageId, circle);
    const b = humanBox(imageId, star);
    annotations.apply(imageId, diffOf({ added: [a, b] }));
    expect(annotations.forImage(imageId)).toEqual([a, b]);
    expect(images.get(imageId)!.status).toBe('in-review');

    const moved: Annotation = { ...a, bbox: [5, 5, 10, 10] };
    const result = annotations.apply(imageId, diffOf({ updated: [{ before: a, after: moved }], removed: [b] }));
    expect(result).toEqual({ added: [], updated: [{ before: a, after: moved }], removed: [b] });
    expect(annotations.forImage(imageId)).toEqual([moved]);
    expect(history.forImage(imageId).map((h) => [h.action, h.annotationId, h.actor])).toEqual([
      ['created', a.id, 'human'], ['created', b.id, 'human'], ['deleted', b.id, 'human'], ['updated', a.id, 'human'],
    ]);
    expect(history.forAnnotation(a.id).at(-1)).toMatchObject({ before: a, after: moved });
  });

  it('keeps a crowd region as one, and marking or unmarking it is an edit in the history', () => {
    const { annotations, history } = project.store;
    const single = humanBox(imageId, circle);
    annotations.apply(imageId, diffOf({ added: [single] }));
    expect(annotations.get(single.id)).not.toHaveProperty('crowd');
    const crowd: Annotation = { ...single, crowd: true };
    annotations.apply(imageId, diffOf({ updated: [{ before: single, after: crowd }] }));
    expect(annotations.get(single.id)).toEqual(crowd);
    expect(history.forAnnotation(single.id).at(-1)).toMatchObject({ action: 'updated', before: single, after: crowd });
    expect(() => annotations.apply(imageId, diffOf({ updated: [{ before: crowd, after: { ...single, crowd: 1 as unknown as boolean } }] }))).toThrow(
      `annotation ${single.id}: crowd must be true or false, got 1`,
    );
  });

  it('a person editing a prediction makes it model-edited and history keeps what the model said', () => {
    const { annotations, history } = project.store;
    const [p] = annotations.replaceModelPredictions(imageId, modelId, [prediction([0, 0, 10, 10])]).annotations;
    const edited = { ...p!, categoryId: star, bbox: [1, 1, 9, 9] as const };
    const { updated } = annotations.apply(imageId, diffOf({ updated: [{ before: p!, after: edited }] }));
    expect(updated[0]!.after).toMatchObject({ origin: 'model-edited', modelId, categoryId: star });
    expect(annotations.get(p!.id)).toEqual(updated[0]!.after);
    const entries = history.forAnnotation(p!.id);
    expect(entries.map((e) => [e.action, e.actor])).toEqual([['created', 'model'], ['updated', 'human']]);
    expect(entries[0]!.after).toEqual(p);
    expect(entries[1]!.after).toMatchObject({ origin: 'model-edited', categoryId: star });
  });

  it('accepting or rejecting unchanged keeps the origin and is logged as such', () => {
    const { annotations, history } = project.store;
    const [p, q] = annotations.replaceModelPredictions(imageId, modelId, [prediction([0, 0, 1, 1]), prediction([2, 2, 1, 1])]).annotations;
    annotations.apply(imageId, diffOf({ updated: [{ before: p!, after: { ...p!, state: 'accepted' } }, { before: q!, after: { ...q!, state: 'rejected' } }] }));
    expect(annotations.get(p!.id)).toMatchObject({ origin: 'model', state: 'accepted' });
    expect(history.forImage(imageId).slice(-2).map((h) => h.action)).toEqual(['accepted', 'rejected']);
  });

  it('writes nothing when one change in the batch is bad', () => {
    const { annotations, history } = project.store;
    const good = humanBox(imageId, circle);
    const unknownCategory = humanBox(imageId, CategoryId(999));
    expect(() => annotations.apply(imageId, diffOf({ added: [good, unknownCategory] }))).toThrow(
      `annotation ${unknownCategory.id}: its category or model does not exist`,
    );
    expect(() => annotations.apply(imageId, diffOf({ removed: [{ ...good, id: AnnotationId('nope') }] }))).toThrow('annotation nope does not exist');
    expect(() => annotations.apply(imageId, diffOf({ added: [{ ...good, bbox: [0, 0, -1, 2] }] }))).toThrow(/must not be negative/);
    expect(annotations.forImage(imageId)).toEqual([]);
    expect(history.forImage(imageId)).toEqual([]);
    expect(project.store.images.get(imageId)!.status).toBe('new');
  });

  it('refuses a person turning a prediction into a human annotation or touching another image', () => {
    const { annotations, images } = project.store;
    const [p] = annotations.replaceModelPredictions(imageId, modelId, [prediction([0, 0, 1, 1])]).annotations;
    expect(() => annotations.apply(imageId, diffOf({ updated: [{ before: p!, after: { ...p!, origin: 'human' } }] }))).toThrow(/origin cannot change/);
    const [other] = images.writeFiles([{ file: imageFile('b.jpg') }]);
    expect(() => annotations.apply(other!, diffOf({ removed: [p!] }))).toThrow(`belongs to image ${imageId}`);
  });

  it('refuses a mask that does not decode or is not the image\'s size, storing nothing', () => {
    const { annotations, history } = project.store;
    const good = { ...humanBox(imageId, circle), mask: prediction([0, 0, 1, 1]).mask };
    const garbage = { ...humanBox(imageId, circle), mask: { size: [48, 64] as const, counts: 'PPYo1' } };
    const wrongSize = { ...humanBox(imageId, circle), mask: encode({ width: 32, height: 48, data: new Uint8Array(32 * 48) }) };
    expect(() => annotations.apply(imageId, diffOf({ added: [good, garbage] }))).toThrow(
      `annotation ${garbage.id}: mask does not decode: RLE counts sum to 2073600, expected 3072 (height 48 x width 64)`,
    );
    expect(() => annotations.apply(imageId, diffOf({ added: [wrongSize] }))).toThrow(
      `annotation ${wrongSize.id}: mask is 48 x 32 but its image is 48 x 64 (height x width)`,
    );
    // A stale annotation (made before the file changed) may carry the size it was made for: undoing its removal.
    annotations.apply(imageId, diffOf({ added: [{ ...wrongSize, stale: { width: 32, height: 48 } }] }));
    expect(annotations.forImage(imageId).map((a) => a.id)).toEqual([wrongSize.id]);
    expect(history.forImage(imageId)).toHaveLength(1);
  });

  it('saves 200 annotations in one transaction: a bad last one leaves none written', () => {
    const { annotations } = project.store;
    const boxes = Array.from({ length: 200 }, (_, i) => humanBox(imageId, circle, [i, i, 5, 5]));
    const broken = [...boxes.slice(0, 199), humanBox(imageId, CategoryId(404))];
    expect(() => annotations.apply(imageId, diffOf({ added: broken }))).toThrow(/category or model does not exist/);
    expect(annotations.forImage(imageId)).toEqual([]);
    annotations.apply(imageId, diffOf({ added: boxes }));
    expect(annotations.forImage(imageId)).toEqual(boxes);
  });

  it('refuses, whole, an edit made against annotations that changed since they were loaded: a conflict', () => {
    const { annotations, history } = project.store;
    const a = humanBox(imageId, circle);
    const b = humanBox(imageId, star);
    annotations.apply(imageId, diffOf({ added: [a, b] }));
    // Elsewhere (another window, an undo), a moves.
    const elsewhere: Annotation = { ...a, bbox: [7, 7, 2, 2] };
    annotations.apply(imageId, diffOf({ updated: [{ before: a, after: elsewhere }] }));
    const entries = history.forImage(imageId).length;
    // An edit still made against the a it loaded: refused, and b is not removed either.
    const stale = () => annotations.apply(imageId, diffOf({ updated: [{ before: a, after: { ...a, categoryId: star } }], removed: [b] }));
    expect(stale).toThrow(ConflictError);
    expect(stale).toThrow(`annotation ${a.id}: ${CHANGED_ELSEWHERE}`);
    expect(() => annotations.apply(imageId, diffOf({ removed: [a] }))).toThrow(ConflictError);
    // Adding what is already there, or removing what is gone, is the same clash.
    expect(() => annotations.apply(imageId, diffOf({ added: [b] }))).toThrow(`annotation ${b.id} already exists: ${CHANGED_ELSEWHERE}`);
    annotations.apply(imageId, diffOf({ removed: [b] }));
    expect(() => annotations.apply(imageId, diffOf({ removed: [b] }))).toThrow(ConflictError);
    expect(annotations.forImage(imageId)).toEqual([elsewhere]);
    expect(history.forImage(imageId)).toHaveLength(entries + 1);
    // Fields a client may leave out count as their defaults: no crowd flag is a single object.
    annotations.apply(imageId, diffOf({ updated: [{ before: { ...elsewhere, crowd: false }, after: { ...elsewhere, bbox: [6, 6, 2, 2] } }] }));
    expect(annotations.get(a.id)!.bbox).toEqual([6, 6, 2, 2]);
  });
});

describe('annotations.replaceModelPredictions', () => {
  it('replaces every pending, unedited prediction on the image, of this model or another: one pending set per image', () => {
    const { annotations, models } = project.store;
    const other = models.register({ name: 'other', format: 'torchvision-maskrcnn', labels: [], card: {}, path: '/o.onnx', sha256: 'def' }).id;
    const [keepAccepted, keepEdited, replaced, keepRejected] = annotations.replaceModelPredictions(imageId, modelId, [
      prediction([0, 0, 1, 1]), prediction([1, 1, 1, 1]), prediction([2, 2, 1, 1]), prediction([3, 3, 1, 1]),
    ]).annotations;
    const human = humanBox(imageId, star);
    annotations.apply(imageId, diffOf({
      added: [human],
      updated: [
        { before: keepAccepted!, after: { ...keepAccepted!, state: 'accepted' } },
        { before: keepEdited!, after: { ...keepEdited!, bbox: [1, 1, 2, 2] } },
        { before: keepRejected!, after: { ...keepRejected!, state: 'rejected' } },
      ],
    }));
    expect(annotations.get(keepEdited!.id)).toMatchObject({ origin: 'model-edited', state: 'accepted' });

    const byOther = annotations.replaceModelPredictions(imageId, other, [prediction([4, 4, 1, 1])]);
    expect(byOther.replaced).toBe(1);
    const fresh = annotations.replaceModelPredictions(imageId, modelId, [prediction([9, 9, 1, 1], 0.5)]);
    expect(fresh.replaced).toBe(1);
    const ids = new Set(annotations.forImage(imageId).map((a) => a.id));
    expect(ids).toEqual(new Set([keepAccepted!.id, keepEdited!.id, keepRejected!.id, human.id, fresh.annotations[0]!.id]));
    expect(ids.has(replaced!.id)).toBe(false);
    expect(ids.has(byOther.annotations[0]!.id)).toBe(false);
    expect(project.store.history.forAnnotation(replaced!.id).map((h) => [h.action, h.actor])).toEqual([
      ['created', 'model'], ['deleted', 'model'],
    ]);
  });

  it('reads one image\'s annotations through the image index', () => {
    const plan = queryPlan(project.store.db, `SELECT * FROM annotations WHERE image_id = ? ORDER BY rowid`, [1]);
    expect(hasFullScan(plan)).toBe(false);
    expect(plan.join(' | ')).toMatch(/SEARCH annotations USING INDEX annotations_image_category \(image_id=\?\)/);
    const stale = queryPlan(
      project.store.db,
      `SELECT * FROM annotations WHERE image_id = ? AND model_id = ? AND origin = 'model' AND state = 'pending'`,
      [1, 1],
    );
    expect(hasFullScan(stale)).toBe(false);
  });
});
