// The one IPC contract between the UI and main: every request/response channel and every event,
// as zod schemas. The Electron preload, the WebSocket bridge and the renderer all speak exactly this.
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { learningChannels, learningEvents } from './learning-contract.js';
import {
  annotationSchema, bboxSchema, categoryIdSchema, categorySchema, imageIdSchema, imageRecordSchema,
  imageStatusSchema, MAX_PAYLOAD_BYTES, modelIdSchema, modelRecordSchema, rleSchema, runIdSchema,
} from '../model/schemas.js';
import { MODEL_FORMATS, PROVIDER_NAMES, type ImageId, type ImageStatus } from '../model/index.js';

import { COCO_EXPORT_DEFAULTS, DATASET_EXPORT_DEFAULTS, DATASET_EXPORT_FORMATS, IMPORT_FORMATS } from './exchange-options.js';

export { ERROR_CODES, IpcRequestError, type ErrorCode } from './errors.js';
// The domain's schemas, defined with the domain (app/model/schemas.ts), are the contract's too.
export { annotationSchema, bboxSchema, categorySchema, imageRecordSchema, imageStatusSchema, MAX_PAYLOAD_BYTES, modelRecordSchema, rleSchema };
export * from './exchange-options.js';

/** Most annotations one `annotations.apply` may carry in each of added/updated/removed. */
export const MAX_CHANGES_PER_APPLY = 5000;
/** Largest page `images.list` returns. */
export const MAX_PAGE = 1000;

const imageId = imageIdSchema;
const categoryId = categoryIdSchema;
const modelId = modelIdSchema;
const runId = runIdSchema;
const finite = z.number().finite();

/** Statuses of images that still need a person's review, in the order the review queue prefers. */
export const NEEDS_REVIEW: readonly ImageStatus[] = ['in-review', 'predicted', 'new'];

/** One edit as plain data: a Diff<Annotation> (app/history), each update and removal with what it was made against. */
export const annotationDiffSchema = z.object({
  added: z.array(annotationSchema).max(MAX_CHANGES_PER_APPLY),
  updated: z.array(z.object({ before: annotationSchema, after: annotationSchema })).max(MAX_CHANGES_PER_APPLY),
  removed: z.array(annotationSchema).max(MAX_CHANGES_PER_APPLY),
});

const statusCounts = z.record(imageStatusSchema, z.number().int().nonnegative());

export const projectSummarySchema = z.object({
  folder: z.string(),
  total: z.number().int().nonnegative(),
  byStatus: statusCounts,
});

export const imageFilterSchema = z.object({
  status: imageStatusSchema.optional(),
  categoryId: categoryId.optional(),
  /** Case-insensitive substring of the file path. */
  search: z.string().max(500).optional(),
  /** Only images holding stale annotations (their file changed since), or only those without. */
  stale: z.boolean().optional(),
  /** Only images where the comparison set's model disagrees with the review (missed, extra or low-overlap). */
  disagreements: z.boolean().optional(),
});

/**
 * How the review screen was set up in a project, kept in the project (so it travels with the folder and is the same
 * in the desktop app and `loupe serve`) and restored when the project is opened again. Every field is optional: a
 * value saved by another version that no longer parses is dropped on its own, never the whole record.
 */
export const reviewSettingsSchema = z.object({
  /** The active tool, by name (the renderer ignores one it does not know). */
  tool: z.string().max(64).optional(),
  threshold: z.number().min(0).max(1).optional(),
  opacity: z.number().min(0).max(1).optional(),
  /** Brush radius in screen pixels. */
  brushSize: z.number().positive().max(1000).optional(),
  showMasks: z.boolean().optional(),
  showOutlines: z.boolean().optional(),
  showBoxes: z.boolean().optional(),
  showLabels: z.boolean().optional(),
  autoAdvance: z.boolean().optional(),
  activeCategory: categoryId.nullable().optional(),
  hiddenCategories: z.array(categoryId).max(10_000).optional(),
  lockedCategories: z.array(categoryId).max(10_000).optional(),
  /** The image list's filter. */
  imageFilter: imageFilterSchema.optional(),
  /** The image open when the project was last left. */
  imageId: imageId.nullable().optional(),
});
export type ReviewSettings = z.output<typeof reviewSettingsSchema>;

/** What a rescan of the project folder found (`loupe scan`'s summary). */
export const scanSummarySchema = z.object({
  files: z.number().int().nonnegative(),
  added: z.number().int().nonnegative(),
  changed: z.number().int().nonnegative(),
  moved: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  /** Files read by this scan that could not be decoded. */
  errors: z.number().int().nonnegative(),
});

/**
 * The image list's order: by path, or most uncertain first (the uncertainty score of main/store/uncertainty.ts:
 * pending predictions near their model's threshold; ties by path).
 */
export const imageSortSchema = z.enum(['path', 'uncertain']);

export const runStateSchema = z.enum(['running', 'paused', 'cancelled', 'done', 'failed']);

const providerNameSchema = z.enum(PROVIDER_NAMES);
const providerChoiceSchema = z.enum(['auto', ...PROVIDER_NAMES]);

export const runProgressSchema = z.object({
  runId,
  state: runStateSchema,
  /** In a finished run's last event: the pending predictions of other models it replaced (an image holds one pending set). */
  replaced: z.number().int().nonnegative().optional(),
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Images per second over the run so far. */
  rate: z.number().nonnegative(),
  /** Seconds left at that rate; null until it is known. */
  eta: z.number().nonnegative().nullable(),
  /** Where the model runs. */
  engine: z.object({
    provider: providerNameSchema,
    /** Why 'auto' did not get the platform's accelerator; null when it did, or when a provider was named. */
    fallback: z.string().nullable(),
    workers: z.number().int().positive(),
    threadsPerWorker: z.number().int().positive(),
  }),
});

/** A pre-label run holding the project's run lock, as any process can see it in the database. */
export const activeRunSchema = z.object({
  /** Null while it is being set up (scanning, loading the model). */
  runId: runId.nullable(),
  modelId: modelId.nullable(),
  pid: z.number().int(),
  host: z.string(),
  /** ISO 8601. */
  startedAt: z.string(),
  /** When its owner last wrote progress or a heartbeat (every few seconds while it runs). */
  heartbeatAt: z.string(),
  state: z.enum(['starting', 'running', 'paused']),
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** True when this process runs it (pause, resume and cancel work only then). */
  ownedHere: z.boolean(),
});

/** A model file pair (.onnx + card) found in the shipped, user or project model folder. */
export const installedModelSchema = z.object({
  /** Its id in the open project (registered by its sha256), or null when no project is open. */
  id: modelId.nullable(),
  source: z.enum(['shipped', 'user', 'project']),
  name: z.string(),
  format: z.enum(MODEL_FORMATS),
  /** Class names, without the background. */
  classes: z.array(z.string()),
  thresholds: z.object({ score: z.number(), mask: z.number() }),
  metrics: z.record(z.string(), z.unknown()).nullable(),
  cardPath: z.string(),
  onnxPath: z.string(),
  bytes: z.number().int().nonnegative(),
});

/**
 * A path main handed out, as an opaque id: a folder or file chosen in main's own dialog (`files.choose`), on the command
 * line, in Open Recent or dropped on the window. The renderer never names a path; a channel that takes a handle finds
 * the path main recorded for it, for the purpose it was handed out for, and refuses any other ('not-found'). Handles
 * are random and live as long as the process that issued them.
 */
export const pathHandleSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected a handle main handed out, not a path').brand<'PathHandle', 'inout'>();
export type PathHandle = z.output<typeof pathHandleSchema>;
/** A path main handed out, as the UI sees it: its handle, and its file or folder name to show. */
export const grantedPathSchema = z.object({ handle: pathHandleSchema, name: z.string() });
export type GrantedPath = z.output<typeof grantedPathSchema>;
/**
 * What `files.choose` asks main's dialog for: where to save a COCO export, and a model's files (its .onnx, its Loupe
 * card, an X-AnyLabeling YAML). Each handle is good only for its purpose (a card chosen to be read is no export target).
 */
export const FILE_PURPOSES = ['export-coco', 'model-onnx', 'model-card', 'model-yaml'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];
/** A card filled in by a person; main checks it field by field (main/models/card-form.ts). */
export const cardFormSchema = z.object({
  name: z.string().max(200),
  format: z.string().max(100),
  labels: z.array(z.string().max(200)).max(10_000),
  scoreThreshold: z.number().optional(),
  maskThreshold: z.number().optional(),
  minSize: z.number().optional(),
  maxSize: z.number().optional(),
});
/** Where an imported or downloaded model is copied: the user's model folder, or the open project's. */
const modelTarget = z.enum(['user', 'project']).default('user');

export const modelDownloadSchema = z.object({
  downloadId: z.number().int().positive(),
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  received: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
  /** Why it failed or stopped; a cancelled download keeps its partial file and resumes when started again. */
  error: z.string().nullable(),
  model: installedModelSchema.nullable(),
});

/**
 * What a COCO export writes; the defaults (COCO_EXPORT_DEFAULTS) are `loupe export`'s and the Export dialog's: the
 * reviewed images, their annotations as RLE, what a person made, edited or accepted (no pending prediction), no scores.
 */
export const cocoExportOptionsSchema = z.object({
  /** 'reviewed': reviewed images only; 'all': every image (each with its reviewed truth). */
  scope: z.enum(['reviewed', 'all']).default(COCO_EXPORT_DEFAULTS.scope),
  /** Masks as RLE (exact) or polygons (a mask with holes stays RLE unless polygonsStrict). */
  segmentation: z.enum(['rle', 'polygons']).default(COCO_EXPORT_DEFAULTS.segmentation),
  polygonsStrict: z.boolean().default(COCO_EXPORT_DEFAULTS.polygonsStrict),
  /** Keep the model's score on predictions. */
  scores: z.boolean().default(COCO_EXPORT_DEFAULTS.scores),
  /** Also write predictions nobody has decided on. */
  includePending: z.boolean().default(COCO_EXPORT_DEFAULTS.includePending),
});
export type CocoExportOptions = z.output<typeof cocoExportOptionsSchema>;
export type CardForm = z.output<typeof cardFormSchema>;

/**
 * What a YOLO, Pascal VOC or LabelMe export writes; the defaults (DATASET_EXPORT_DEFAULTS) are `loupe export --format
 * yolo|voc|labelme`'s and the Export dialog's: the reviewed images and their reviewed truth, split 80/20 with seed 0,
 * images hard-linked into the dataset.
 */
export const datasetExportOptionsSchema = z.object({
  scope: z.enum(['reviewed', 'all']).default(DATASET_EXPORT_DEFAULTS.scope),
  includePending: z.boolean().default(DATASET_EXPORT_DEFAULTS.includePending),
  /** yolo, voc: share of the images for validation, chosen by a seeded hash of their paths. */
  valFraction: z.number().min(0).max(1).default(DATASET_EXPORT_DEFAULTS.valFraction),
  seed: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1).default(DATASET_EXPORT_DEFAULTS.seed),
  /** yolo: polygons (segment) or boxes (detect); auto is segment when any exported annotation has a mask. */
  task: z.enum(['auto', 'segment', 'detect']).default(DATASET_EXPORT_DEFAULTS.task),
  /** yolo, voc: images hard-linked (copied across file systems), copied, or not written. */
  images: z.enum(['link', 'copy', 'none']).default(DATASET_EXPORT_DEFAULTS.images),
  /** labelme: the files beside each image (replacing LabelMe files there) instead of a new folder. */
  besideImages: z.boolean().default(DATASET_EXPORT_DEFAULTS.besideImages),
});
export type DatasetExportOptions = z.output<typeof datasetExportOptionsSchema>;

const leftOutSchema = z.array(z.object({ path: z.string(), reason: z.string() }));
const staleLeftOutSchema = z.array(z.object({ path: z.string(), annotations: z.number().int().positive() }));
/** A box drawn for the model to segment: [x, y, w, h] in image pixels. */
export const promptBoxSchema = z.tuple([finite, finite, finite.positive(), finite.positive()]).readonly();
/** Most boxes one `prompt.segment` may carry. */
export const MAX_PROMPT_BOXES = 100;

const millis = z.number().nonnegative();
const classScoreSchema = z.object({ categoryId, label: z.string(), score: z.number().min(0).max(1) });

/** One box's answer from the model's heads: its class, the alternatives, the refined box and the mask. */
export const promptResultSchema = z.object({
  /** The box as drawn. */
  box: bboxSchema,
  /** The most probable class (its category, created when the project had none by that name). */
  categoryId,
  label: z.string(),
  score: z.number().min(0).max(1),
  /** Every class of the model but the background, most probable first. */
  classes: z.array(classScoreSchema),
  /** The heads' box for that class, which the mask fills. */
  refinedBox: bboxSchema,
  /** Null when nothing in the box passes the mask threshold. */
  mask: rleSchema.nullable(),
  /** The mask's bounding box (null with no mask). */
  bbox: bboxSchema.nullable(),
});
export type PromptResult = z.output<typeof promptResultSchema>;

const empty = z.object({}).strict();
const ok = z.object({ ok: z.literal(true) });

/** Request/response channels: `invoke(channel, request)` resolves with the response. */
export const channels = {
  /** Opens a folder main handed out (app.command 'open-folder': its dialog, Open Recent, a drop) as the project. */
  'project.open': { req: z.object({ folder: pathHandleSchema }), res: projectSummarySchema },
  'project.summary': { req: empty, res: projectSummarySchema },

  /** Scans the open project's folder again (`loupe scan`): new images are added, changed and moved ones followed. */
  'project.rescan': { req: empty, res: scanSummarySchema },
  /** The review screen's settings kept in the open project; {} when none were saved. */
  'project.settings': { req: empty, res: z.object({ settings: reviewSettingsSchema }) },
  /** Replaces the review screen's settings kept in the open project. */
  'project.saveSettings': { req: z.object({ settings: reviewSettingsSchema }), res: ok },

  /** Images ordered by path (or `sort`), one page at a time: pass the previous page's `next` as `after`. */
  'images.list': {
    req: z.object({
      after: z.string().nullable().optional(),
      limit: z.number().int().positive().max(MAX_PAGE),
      filter: imageFilterSchema.optional(),
      sort: imageSortSchema.optional(),
    }),
    res: z.object({ items: z.array(imageRecordSchema), next: z.string().nullable() }),
  },
  'images.get': { req: z.object({ id: imageId }), res: imageRecordSchema },
  /**
   * Sets an image's status. To 'reviewed' it settles the image as `review.markReviewed` does with nothing shown:
   * every pending prediction is rejected (use review.markReviewed to accept what the person sees).
   */
  'images.setStatus': { req: z.object({ id: imageId, status: imageStatusSchema }), res: imageRecordSchema },
  /** The first image after `afterPath` (in path order, wrapping around) that still needs review; null when none. */
  'images.nextToReview': {
    req: z.object({ afterPath: z.string().nullable() }),
    res: z.object({ image: imageRecordSchema.nullable() }),
  },

  'annotations.list': { req: z.object({ imageId }), res: z.object({ annotations: z.array(annotationSchema) }) },
  /**
   * Applies one edit (one undo step) atomically and records it in the edit history. Each updated or removed
   * annotation's `before` must be what the store holds, else the edit is refused whole with 'conflict' ("this
   * annotation changed elsewhere since it was loaded"). Every mask must decode and be the image's size (a stale
   * annotation's: the size it was made for). `status`, when given, is set in the same transaction: undoing
   * `review.markReviewed` is this with the inverse of its changes and its previousStatus.
   */
  'annotations.apply': {
    req: z.object({ imageId, changes: annotationDiffSchema, status: imageStatusSchema.optional() }),
    res: z.object({ annotations: z.array(annotationSchema) }),
  },

  /**
   * Marks an image reviewed (Enter): its pending predictions shown at `threshold` and not in a hidden class are
   * accepted, the others rejected; stale annotations are kept if the image still has their size, else removed.
   * `changes` is the one diff applied (undo: annotations.apply with its inverse and `status: previousStatus`).
   */
  'review.markReviewed': {
    req: z.object({
      imageId,
      threshold: z.number().min(0).max(1),
      hiddenCategoryIds: z.array(categoryId).max(10_000).default([]),
    }),
    res: z.object({
      changes: annotationDiffSchema,
      accepted: z.number().int().nonnegative(),
      rejected: z.number().int().nonnegative(),
      /** Stale annotations kept because they fit, and dropped because the image's size changed. */
      kept: z.number().int().nonnegative(),
      dropped: z.number().int().nonnegative(),
      previousStatus: imageStatusSchema,
      image: imageRecordSchema,
    }),
  },

  'categories.list': { req: empty, res: z.object({ categories: z.array(categorySchema) }) },
  'categories.create': {
    req: z.object({ name: z.string().trim().min(1).max(200), color: z.string().regex(/^#[0-9a-f]{6}$/i).optional() }),
    res: categorySchema,
  },

  /**
   * The models registered in the project, each with a short name for tight places (a prediction's label, the review
   * panel; see app/model shortModelNames) beside its full name.
   */
  'models.list': { req: empty, res: z.object({ models: z.array(modelRecordSchema.unwrap().extend({ shortName: z.string() }).readonly()) }) },
  /** The model files installed (shipped, user, open project), unreadable cards with why, and the execution providers this platform offers. */
  'models.installed': {
    req: empty,
    res: z.object({
      models: z.array(installedModelSchema),
      problems: z.array(z.object({ file: z.string(), message: z.string() })),
      providers: z.array(providerNameSchema),
      /**
       * The project's active model, which the picker starts on and prelabel.start uses when given no modelId: the
       * one chosen last (activated by training or learning.activate, or used by its last run), else the shipped
       * default (loupe-shapes). Its cardPath is one of `models`'; null when
       * no project is open or it is not installed.
       */
      active: z.object({ cardPath: z.string(), modelId: modelId.nullable(), name: z.string() }).nullable(),
    }),
  },
  /**
   * Copies a model into a model folder (never overwriting) after loading it once to check the graph against its card.
   * Its files are handles from files.choose ('model-onnx', 'model-card', 'model-yaml').
   */
  'models.import': {
    req: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('card'), onnx: pathHandleSchema, card: pathHandleSchema, target: modelTarget }),
      z.object({ kind: z.literal('form'), onnx: pathHandleSchema, form: cardFormSchema, target: modelTarget }),
      z.object({ kind: z.literal('xanylabeling'), yaml: pathHandleSchema, format: z.enum(MODEL_FORMATS).optional(), target: modelTarget }),
    ]),
    res: z.object({ model: installedModelSchema, ignored: z.array(z.string()) }),
  },
  /** Starts a download (progress in 'models.download' events); the same URL and name again resumes a cancelled one. */
  'models.download': {
    req: z.object({
      url: z.string().url().max(4096),
      sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
      form: cardFormSchema,
      target: modelTarget,
    }),
    res: z.object({ downloadId: z.number().int().positive() }),
  },
  'models.cancelDownload': { req: z.object({ downloadId: z.number().int().positive() }), res: ok },

  'prelabel.start': {
    req: z.object({
      modelId: modelId.optional(),
      imageIds: z.array(imageId).max(1_000_000).optional(),
      threshold: z.number().min(0).max(1).optional(),
      /** Execution provider ('auto' tries the platform's accelerator, then the CPU); one of `models.installed`'s providers. */
      provider: providerChoiceSchema.optional(),
    }),
    res: runProgressSchema,
  },
  /**
   * The project's live pre-label run, whichever process runs it (this app, or a `loupe prelabel` in a terminal), with
   * its progress as that process last recorded it; null when none. While one is live, prelabel.start is refused
   * ('conflict'). Poll it to follow another process's run.
   */
  'prelabel.active': { req: empty, res: z.object({ run: activeRunSchema.nullable() }) },
  'prelabel.pause': { req: z.object({ runId }), res: ok },
  'prelabel.resume': { req: z.object({ runId }), res: ok },
  'prelabel.cancel': { req: z.object({ runId }), res: ok },

  /**
   * Box prompts with a model's own heads (its split graphs: backbone once per image, RoI heads per box). `modelId`
   * defaults to the project's active model. `prompt.status` says whether that model has split graphs, and why not.
   */
  'prompt.status': {
    req: z.object({ modelId: modelId.optional() }),
    res: z.object({
      available: z.boolean(),
      /** Why box prompts cannot run with this model; null when they can. */
      reason: z.string().nullable(),
      modelId: modelId.nullable(),
      /** The split model's name, when there is one. */
      split: z.string().nullable(),
    }),
  },
  /** Computes an image's feature maps in the prompt worker (kept in its cache), so a first box does not wait for them. */
  'prompt.prepare': {
    req: z.object({ imageId, modelId: modelId.optional() }),
    res: z.object({
      /** The maps were already there (or being computed). */
      cached: z.boolean(),
      featureMs: millis,
      cache: z.object({ entries: z.number().int().nonnegative(), bytes: z.number().int().nonnegative(), maxBytes: z.number().int().nonnegative() }),
    }),
  },
  /** Segments what lies in each box; nothing is saved (the editor adds the result as an edit, origin 'prompted'). */
  'prompt.segment': {
    req: z.object({ imageId, boxes: z.array(promptBoxSchema).min(1).max(MAX_PROMPT_BOXES), modelId: modelId.optional() }),
    res: z.object({
      /** The model that answered: what a prompted annotation names. */
      modelId,
      /** Time spent computing the maps for this request (0 when they were cached). */
      featureMs: millis,
      /** The heads' time for all the boxes, in the worker. */
      headsMs: millis,
      results: z.array(promptResultSchema),
    }),
  },

  /**
   * Writes the reviewed truth as COCO, with `loupe export`'s options and defaults (see cocoExportOptionsSchema).
   * Images that cannot be written are left out and named; the export goes on.
   */
  'export.coco': {
    req: cocoExportOptionsSchema.extend({
      /** Where to write: a file chosen with files.choose 'export-coco'; by default `<project>/.loupe/exports/coco-<time>.json`. */
      file: pathHandleSchema.optional(),
      /** Default 'reviewed'. */
      scope: z.enum(['reviewed', 'all']).optional(),
      /** Before `scope`: true is scope 'reviewed', false is 'all'. `scope` wins when both are given. */
      reviewedOnly: z.boolean().optional(),
    }).strict(),
    res: z.object({
      path: z.string(),
      images: z.number().int().nonnegative(),
      annotations: z.number().int().nonnegative(),
      /** Pending predictions written (includePending only). */
      pending: z.number().int().nonnegative(),
      /** Instances with holes in a polygon export: written as RLE, or filled when polygonsStrict. */
      holes: z.number().int().nonnegative(),
      /** Images in scope not written, and why (missing, unreadable, changed since the scan, inconsistent). */
      leftOut: leftOutSchema,
      /** Images written without their stale annotations (their file changed; review them again). */
      staleLeftOut: staleLeftOutSchema,
    }),
  },

  /**
   * Writes the reviewed truth as a YOLO or Pascal VOC dataset or as LabelMe files, with `loupe export --format`'s
   * options and defaults (datasetExportOptionsSchema), into a new folder `<project>/.loupe/exports/<format>-<time>`
   * (LabelMe with besideImages: beside each image). The same images and annotations as export.coco's.
   */
  'export.dataset': {
    req: datasetExportOptionsSchema.extend({ format: z.enum(DATASET_EXPORT_FORMATS) }),
    res: z.object({
      format: z.enum(DATASET_EXPORT_FORMATS),
      /** The folder written; the project folder for LabelMe files beside the images. */
      path: z.string(),
      images: z.number().int().nonnegative(),
      /** Objects written. */
      annotations: z.number().int().nonnegative(),
      /** Pending predictions not written (includePending writes them). */
      pendingLeftOut: z.number().int().nonnegative(),
      /** What the format could not hold or did on the way, one sentence each (the split, holes filled, crowd regions…). */
      notes: z.array(z.string()),
      leftOut: leftOutSchema,
      staleLeftOut: staleLeftOutSchema,
    }),
  },

  /**
   * Asks main to show its own file dialog for `purpose` and hands out what was chosen as a handle; null when the person
   * cancelled. Where main has no dialog (a browser page over `loupe serve`) it fails ('conflict') naming the command
   * line that does the same.
   */
  'files.choose': {
    req: z.object({ purpose: z.enum(FILE_PURPOSES) }),
    res: z.object({ file: grantedPathSchema.nullable() }),
  },

  /**
   * Adds the annotations of a COCO file, LabelMe files or a YOLO dataset as a person's accepted annotations, as
   * `loupe import --format` does. Main asks where they are with its own file dialog (the renderer names no path);
   * where there is none (a browser page over `loupe serve`) the request fails saying so.
   */
  'import.annotations': {
    req: z.object({ format: z.enum(IMPORT_FORMATS) }),
    res: z.object({
      /** The file or folder chosen; null when the person cancelled the dialog (nothing was imported). */
      source: z.string().nullable(),
      imported: z.number().int().nonnegative(),
      /** Images that received annotations. */
      images: z.number().int().nonnegative(),
      newCategories: z.array(z.string()),
      /** Objects identical to an annotation the image already has, not added again. */
      alreadyPresent: z.number().int().nonnegative(),
      /** What was read but not imported, or changed on the way, one sentence each. */
      notes: z.array(z.string()),
      /** Why nothing was imported: every problem of the input (up to 20, then a count); empty when it was. */
      problems: z.array(z.string()),
    }),
  },

  ...learningChannels,
} as const;

/** Events main pushes to the UI: `on(event, cb)`. */
export const events = {
  'prelabel.progress': runProgressSchema,
  /** Images whose status or annotations changed outside the UI's own edits (e.g. a pre-label batch). */
  'images.changed': z.object({ ids: z.array(imageId) }),
  'models.download': modelDownloadSchema,
  /**
   * A desktop menu item, shortcut or dropped folder asks the UI to act, so every action keeps one flow
   * in the UI: 'open-folder' carries the folder main already chose (native dialog, recent list, drop), as a handle.
   */
  'app.command': z.discriminatedUnion('command', [
    z.object({ command: z.literal('open-folder'), folder: grantedPathSchema }),
    z.object({ command: z.enum(['import-model', 'export-coco', 'import-annotations', 'undo', 'redo']) }),
  ]),
  ...learningEvents,
} as const;

export type Channel = keyof typeof channels;
export type EventName = keyof typeof events;
/** What a caller passes (ids as plain numbers/strings are accepted). */
export type Req<C extends Channel> = z.input<(typeof channels)[C]['req']>;
/** What a handler receives, after validation. */
export type ParsedReq<C extends Channel> = z.output<(typeof channels)[C]['req']>;
export type Res<C extends Channel> = z.output<(typeof channels)[C]['res']>;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export type ProjectSummary = Res<'project.summary'>;
export type ImageFilter = z.output<typeof imageFilterSchema>;
export type ImageSort = z.output<typeof imageSortSchema>;
export type { EvaluationSummary, LearningJob, ModelVersionRow } from './learning-contract.js';
export type RunProgress = z.output<typeof runProgressSchema>;
export type RunState = z.output<typeof runStateSchema>;

export interface Disposable {
  dispose(): void;
}

/**
 * The channels the UI calls, and the only ones the preload exposes and main answers for the window and the browser
 * page (`renderer-channels.test.ts` checks this list against every `invoke` in renderer/). The others (images.setStatus,
 * the model downloads) serve main's own callers and tests.
 */
export const RENDERER_CHANNELS = [
  'project.open', 'project.summary', 'project.rescan', 'project.settings', 'project.saveSettings',
  'images.list', 'images.get', 'images.nextToReview',
  'annotations.list', 'annotations.apply', 'review.markReviewed',
  'categories.list', 'categories.create',
  'models.list', 'models.installed', 'models.import',
  'prelabel.start', 'prelabel.active', 'prelabel.pause', 'prelabel.resume', 'prelabel.cancel',
  'prompt.status', 'prompt.prepare', 'prompt.segment',
  'export.coco', 'export.dataset', 'files.choose', 'import.annotations',
  'learning.models', 'learning.activate', 'learning.train', 'learning.evaluate', 'learning.compare', 'learning.cancel', 'learning.comparison',
] as const satisfies readonly Channel[];
export type RendererChannel = (typeof RENDERER_CHANNELS)[number];

export function isRendererChannel(name: unknown): name is RendererChannel {
  return (RENDERER_CHANNELS as readonly unknown[]).includes(name);
}

/**
 * The surface a client sees, over channels `C`: every channel for main's own callers and tests (`Api`), the UI's
 * channels for the renderer (`RendererApi`). The preload, the bridge client and test clients implement it.
 */
export interface Api<C extends Channel = Channel> {
  invoke<K extends C>(channel: K, request: Req<K>): Promise<Res<K>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Disposable;
  /** URL of an image's bytes (EXIF orientation applied) and of its cached thumbnail. */
  imageUrl(image: { readonly id: ImageId; readonly path: string }): string;
  thumbnailUrl(image: { readonly id: ImageId; readonly path: string }): string;
}

/** What the renderer may call: the preload's Api. */
export type RendererApi = Api<RendererChannel>;


export const ipcErrorSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string() });
export type IpcError = z.output<typeof ipcErrorSchema>;

/** The envelope every transport carries a response in: never a thrown exception across the boundary. */
export type Reply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: IpcError };


export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

/** Messages on the bridge's WebSocket. */
export type ClientMessage = { readonly id: number; readonly channel: string; readonly request: unknown };
export type ServerMessage =
  | { readonly kind: 'reply'; readonly id: number; readonly reply: Reply<unknown> }
  | { readonly kind: 'event'; readonly event: EventName; readonly payload: unknown };
