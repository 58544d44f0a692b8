// The domain's records as zod schemas: the one definition of their shape. app/model/types.ts derives the TypeScript
// types from these, and the IPC contract (app/ipc/contract.ts) validates every request and reply with them.
import { z } from 'zod';
import { AnnotationId, CategoryId, ImageId, ModelId, RunId } from './ids.js';

export const IMAGE_STATUSES = ['new', 'predicted', 'in-review', 'reviewed', 'error'] as const;
export const MODEL_FORMATS = ['torchvision-maskrcnn', 'onnx-zoo-maskrcnn', 'torchvision-fasterrcnn'] as const;
/** 'prompted': made by a person drawing a box for the model to segment (the box-prompt tool). */
export const ORIGINS = ['model', 'model-edited', 'human', 'prompted'] as const;
export const REVIEW_STATES = ['pending', 'accepted', 'rejected'] as const;

/** Largest request or event payload, serialised, that a transport accepts (masks travel as RLE strings). */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export const imageIdSchema = z.number().int().positive().transform(ImageId);
export const categoryIdSchema = z.number().int().positive().transform(CategoryId);
export const modelIdSchema = z.number().int().positive().transform(ModelId);
export const runIdSchema = z.number().int().positive().transform(RunId);
export const annotationIdSchema = z.string().min(1).max(64).transform(AnnotationId);
const finite = z.number().finite();

export const imageStatusSchema = z.enum(IMAGE_STATUSES);

/** [x, y, width, height] in image pixels (the displayed, EXIF-rotated image), as COCO writes it. */
export const bboxSchema = z.tuple([finite, finite, finite.nonnegative(), finite.nonnegative()]).readonly();

/** COCO run-length encoding in cocoapi's compact string form; size is [height, width]. */
export const rleSchema = z.object({
  size: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).readonly(),
  counts: z.string().max(MAX_PAYLOAD_BYTES),
}).readonly();

/** The displayed size a stale annotation was made for. */
export const staleSizeSchema = z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).readonly();

export const annotationSchema = z.object({
  id: annotationIdSchema,
  imageId: imageIdSchema,
  categoryId: categoryIdSchema,
  bbox: bboxSchema,
  /** Null for box-only annotations (a Faster R-CNN model, or a box drawn without a mask). */
  mask: rleSchema.nullable(),
  /** The model's confidence; null for what a person made. */
  score: z.number().min(0).max(1).nullable(),
  origin: z.enum(ORIGINS),
  /** The model that predicted it, kept when a person edits the prediction. */
  modelId: modelIdSchema.nullable(),
  state: z.enum(REVIEW_STATES),
  /** COCO's iscrowd: one region over a group of objects (absent means a single object). */
  crowd: z.boolean().optional(),
  /**
   * Set when the image's file changed after this annotation was made: the displayed size it was made for. A stale
   * annotation is kept but left out of exports until a person reviews the image again.
   */
  stale: staleSizeSchema.optional(),
}).readonly();

export const imageRecordSchema = z.object({
  id: imageIdSchema,
  /** Path relative to the project folder, with forward slashes. */
  path: z.string(),
  /** Displayed size, after EXIF orientation is applied. */
  width: z.number().int(),
  height: z.number().int(),
  /** EXIF orientation tag, 1 to 8 (1 when absent). */
  orientation: z.number().int().min(1).max(8),
  /** sha256 of the file's bytes, hex; lets a rescan recognise moved or renamed files. */
  hash: z.string(),
  status: imageStatusSchema,
  /** Why, when status is 'error': the decoder's message (the scan), or the pre-label run's. */
  error: z.string().nullable(),
  /** True when the file was not found at the last scan; its annotations are kept. */
  missing: z.boolean(),
}).readonly();

export const categorySchema = z.object({
  id: categoryIdSchema,
  name: z.string(),
  /** CSS colour, '#rrggbb'. */
  color: z.string().regex(/^#[0-9a-f]{6}$/i),
}).readonly();

export const modelRecordSchema = z.object({
  id: modelIdSchema,
  name: z.string(),
  format: z.enum(MODEL_FORMATS),
  /** Class names by output index; index 0 is the background. */
  labels: z.array(z.string()).readonly(),
  /** The model card as read from its JSON file. */
  card: z.record(z.string(), z.unknown()).readonly(),
  /** Path of the .onnx file. */
  path: z.string(),
}).readonly();
