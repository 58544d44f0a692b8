// The learning loop's part of the IPC contract (spread into contract.ts's channels and events): training a new
// model version, the model table with each version's evaluation, activating a model, and comparing a model with
// what was reviewed. One learning job (train, evaluate or compare) runs per project at a time; its progress
// arrives as 'learning.progress' events.
import { z } from 'zod';
import { annotationIdSchema, bboxSchema, categoryIdSchema, imageIdSchema, modelIdSchema, rleSchema } from '../model/schemas.js';

const imageId = imageIdSchema;
const modelId = modelIdSchema;
const categoryId = categoryIdSchema;
const annotationId = annotationIdSchema;
const figure = z.number().nullable();

const apFigures = z.object({ AP: figure, AP50: figure, AP75: figure });
const prf = { precision: figure, recall: figure, f1: figure };

/** A model's COCO figures on reviewed images, as the model table shows them (masks where the model has them). */
export const evaluationSummarySchema = z.object({
  evaluationId: z.number().int().positive(),
  modelId,
  split: z.enum(['heldout', 'all']),
  /** Fingerprint of the images and their truth: evaluations with the same one were scored on the same ground. */
  imageSet: z.string(),
  images: z.number().int().nonnegative(),
  instances: z.number().int().nonnegative(),
  /** The card's score threshold, where precision and recall are taken. */
  threshold: z.number(),
  createdAt: z.string(),
  box: apFigures,
  mask: apFigures.nullable(),
  atThreshold: z.object(prf),
  /** The F1-maximising threshold and the figures there. */
  suggested: z.object({ score: figure, ...prf }),
  perClass: z.array(z.object({
    name: z.string(),
    boxAP: figure,
    maskAP: figure,
    instances: z.number().int().nonnegative(),
    ...prf,
    /** This class's own F1-maximising threshold. */
    suggested: figure,
  })),
});
export type EvaluationSummary = z.output<typeof evaluationSummarySchema>;

/** One row of the model table: a model registered in the project, with its version and latest held-out evaluation. */
export const modelVersionSchema = z.object({
  modelId,
  name: z.string(),
  /** NAME of NAME-vK (the model's own name when it has no version suffix) and K (1 for an unversioned model). */
  family: z.string(),
  version: z.number().int().positive(),
  format: z.string(),
  /** The card's score threshold (what pre-labeling keeps). */
  threshold: z.number(),
  /** The model it was trained from, by name, for versions trained in this project. */
  parent: z.string().nullable(),
  createdAt: z.string().nullable(),
  active: z.boolean(),
  /** Its latest evaluation on the project's held-out images; null when it was never scored there. */
  evaluation: evaluationSummarySchema.nullable(),
});
export type ModelVersionRow = z.output<typeof modelVersionSchema>;

export const trainStageSchema = z.enum(['data', 'train', 'export', 'score', 'done']);

/** The learning job in progress (or just ended), as the status bar shows it. */
export const learningJobSchema = z.object({
  kind: z.enum(['train', 'evaluate', 'compare']),
  state: z.enum(['running', 'stopping', 'completed', 'interrupted', 'failed']),
  /** What it works on, e.g. 'loupe-shapes-v2'. */
  name: z.string(),
  stage: trainStageSchema.nullable(),
  iteration: z.number().int().nonnegative().nullable(),
  iterations: z.number().int().nonnegative().nullable(),
  loss: z.number().nullable(),
  imagesPerSecond: z.number().nullable(),
  /** Seconds left; null until known. */
  eta: z.number().nonnegative().nullable(),
  /** Images run so far (evaluate, compare, training's score stage). */
  done: z.number().int().nonnegative().nullable(),
  total: z.number().int().nonnegative().nullable(),
  /** The latest note (what the data holds, what is happening) or, once ended, the outcome or the error. */
  message: z.string(),
});
export type LearningJob = z.output<typeof learningJobSchema>;

export const comparedPredictionSchema = z.object({
  id: z.number().int().positive(),
  categoryId,
  bbox: bboxSchema,
  mask: rleSchema.nullable(),
  score: z.number(),
  outcome: z.enum(['matched', 'low-overlap', 'extra', 'crowd']),
  /** The reviewed instance it matched. */
  annotationId: annotationId.nullable(),
  iou: z.number(),
});

const countsSchema = z.object({
  matched: z.number().int().nonnegative(),
  lowOverlap: z.number().int().nonnegative(),
  missed: z.number().int().nonnegative(),
  extra: z.number().int().nonnegative(),
});

const ok = z.object({ ok: z.literal(true) });

export const learningChannels = {
  /** The model table: every model registered in the project, newest version last within its family. */
  'learning.models': {
    req: z.object({}).strict(),
    res: z.object({ models: z.array(modelVersionSchema), job: learningJobSchema.nullable() }),
  },
  /** Makes a model the project's active one (pre-labeling's default), recording why. */
  'learning.activate': { req: z.object({ modelId }), res: ok },
  /** Starts training a new version (the CLI's `loupe train`); refused ('conflict') while another learning job runs. */
  'learning.train': {
    req: z.object({
      /** The model to fine-tune; default the active model. */
      fromModelId: modelId.optional(),
      name: z.string().min(1).max(100).optional(),
      iterations: z.number().int().positive().max(10_000_000).optional(),
      minutes: z.number().positive().max(100_000).optional(),
      device: z.enum(['cpu', 'cuda']).optional(),
      activate: z.boolean().optional(),
    }),
    res: learningJobSchema,
  },
  /** Scores models on the reviewed images (the CLI's `loupe evaluate`); the model table shows the results. */
  'learning.evaluate': {
    req: z.object({ modelIds: z.array(modelId).min(1).max(50), split: z.enum(['heldout', 'all']).default('heldout') }),
    res: learningJobSchema,
  },
  /** Runs a model (default the active one) on the reviewed images into the comparison set (the CLI's `loupe compare`). */
  'learning.compare': { req: z.object({ modelId: modelId.optional() }), res: learningJobSchema },
  /** Stops the learning job: training at its next checkpoint (the same settings continue it later). */
  'learning.cancel': { req: z.object({}).strict(), res: ok },
  /** One image's comparison: the comparison set's predictions on it, each with its outcome, and the instances missed. */
  'learning.comparison': {
    req: z.object({ imageId }),
    res: z.object({
      comparison: z.object({
        modelId,
        predictions: z.array(comparedPredictionSchema),
        missed: z.array(annotationId),
        counts: countsSchema,
      }).nullable(),
    }),
  },
} as const;

export const learningEvents = {
  'learning.progress': learningJobSchema,
} as const;
