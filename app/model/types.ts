import type { AnnotationId, CategoryId, ImageId, ModelId, RunId } from './ids.js';

/** [x, y, width, height] in image pixels (the displayed, EXIF-rotated image), as COCO writes it. */
export type Bbox = readonly [x: number, y: number, w: number, h: number];

/** COCO run-length encoding in cocoapi's compact string form; size is [height, width]. */
export interface Rle {
  readonly size: readonly [height: number, width: number];
  readonly counts: string;
}

export const IMAGE_STATUSES = ['new', 'predicted', 'in-review', 'reviewed', 'error'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export interface ImageRecord {
  readonly id: ImageId;
  /** Path relative to the project folder, with forward slashes. */
  readonly path: string;
  /** Displayed size, after EXIF orientation is applied. */
  readonly width: number;
  readonly height: number;
  /** EXIF orientation tag, 1 to 8 (1 when absent). */
  readonly orientation: number;
  /** sha256 of the file's bytes, hex; lets a rescan recognise moved or renamed files. */
  readonly hash: string;
  readonly status: ImageStatus;
  /** The decoder's (or model's) message when status is 'error'. */
  readonly error: string | null;
  /** True when the file was not found at the last scan; its annotations are kept. */
  readonly missing: boolean;
}

export interface Category {
  readonly id: CategoryId;
  readonly name: string;
  /** CSS colour, '#rrggbb'. */
  readonly color: string;
}

export const MODEL_FORMATS = ['torchvision-maskrcnn', 'onnx-zoo-maskrcnn', 'torchvision-fasterrcnn'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

export interface ModelRecord {
  readonly id: ModelId;
  readonly name: string;
  readonly format: ModelFormat;
  /** Class names by output index; index 0 is the background. */
  readonly labels: readonly string[];
  /** The model card as read from its JSON file. */
  readonly card: Readonly<Record<string, unknown>>;
  /** Path of the .onnx file. */
  readonly path: string;
}

/** 'prompted': made by a person drawing a box for the model to segment (the box-prompt tool). */
export const ORIGINS = ['model', 'model-edited', 'human', 'prompted'] as const;
export type Origin = (typeof ORIGINS)[number];

export const REVIEW_STATES = ['pending', 'accepted', 'rejected'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

export interface Annotation {
  readonly id: AnnotationId;
  readonly imageId: ImageId;
  readonly categoryId: CategoryId;
  readonly bbox: Bbox;
  /** Null for box-only annotations (a Faster R-CNN model, or a box drawn without a mask). */
  readonly mask: Rle | null;
  /** The model's confidence; null for what a person made. */
  readonly score: number | null;
  readonly origin: Origin;
  /** The model that predicted it, kept when a person edits the prediction. */
  readonly modelId: ModelId | null;
  readonly state: ReviewState;
  /** COCO's iscrowd: one region over a group of objects (absent means a single object). */
  readonly crowd?: boolean;
  /**
   * Set when the image's file changed after this annotation was made: the displayed size it was made for. A stale
   * annotation is kept but left out of exports until a person reviews the image again.
   */
  readonly stale?: StaleSize;
}

export interface StaleSize {
  readonly width: number;
  readonly height: number;
}

export type { AnnotationId, CategoryId, ImageId, ModelId, RunId };
