// The domain's types, derived from their schemas (./schemas.ts): one definition of each record's shape.
import type { z } from 'zod';
import type { AnnotationId, CategoryId, ImageId, ModelId, RunId } from './ids.js';
import type { annotationSchema, bboxSchema, categorySchema, imageRecordSchema, modelRecordSchema, rleSchema, staleSizeSchema } from './schemas.js';
import { IMAGE_STATUSES, MODEL_FORMATS, ORIGINS, REVIEW_STATES } from './schemas.js';

export { IMAGE_STATUSES, MODEL_FORMATS, ORIGINS, REVIEW_STATES };

/** [x, y, width, height] in image pixels (the displayed, EXIF-rotated image), as COCO writes it. */
export type Bbox = z.output<typeof bboxSchema>;
/** COCO run-length encoding in cocoapi's compact string form; size is [height, width]. */
export type Rle = z.output<typeof rleSchema>;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];
export type ImageRecord = z.output<typeof imageRecordSchema>;
export type Category = z.output<typeof categorySchema>;
export type ModelFormat = (typeof MODEL_FORMATS)[number];
export type ModelRecord = z.output<typeof modelRecordSchema>;
export type Origin = (typeof ORIGINS)[number];
export type ReviewState = (typeof REVIEW_STATES)[number];
export type Annotation = z.output<typeof annotationSchema>;
export type StaleSize = z.output<typeof staleSizeSchema>;

export type { AnnotationId, CategoryId, ImageId, ModelId, RunId };
