// The export and import choices of the contract, apart from its schemas so the renderer can show them without loading
// zod: the formats, and the defaults `loupe export` and the app's Export dialog share (contract.ts builds its
// cocoExportOptionsSchema and datasetExportOptionsSchema on these values).

/** What `export.dataset` writes (COCO has `export.coco`), and what `import.annotations` reads. */
export const DATASET_EXPORT_FORMATS = ['yolo', 'voc', 'labelme'] as const;
export const EXPORT_FORMATS = ['coco', ...DATASET_EXPORT_FORMATS] as const;
export const IMPORT_FORMATS = ['coco', 'labelme', 'yolo'] as const;
export type DatasetExportFormat = (typeof DATASET_EXPORT_FORMATS)[number];
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The share of images a YOLO or VOC export puts in its validation split, and the split's seed, unless told otherwise. */
export const DEFAULT_VAL_FRACTION = 0.2;
export const DEFAULT_SPLIT_SEED = 0;

/** A COCO export's defaults: the reviewed images, their reviewed truth as RLE, no pending prediction, no scores. */
export const COCO_EXPORT_DEFAULTS = {
  scope: 'reviewed',
  segmentation: 'rle',
  polygonsStrict: false,
  scores: false,
  includePending: false,
} as const;

/** A YOLO, VOC or LabelMe export's defaults: the reviewed truth, split 80/20 with seed 0, images hard-linked. */
export const DATASET_EXPORT_DEFAULTS = {
  scope: 'reviewed',
  includePending: false,
  valFraction: DEFAULT_VAL_FRACTION,
  seed: DEFAULT_SPLIT_SEED,
  task: 'auto',
  images: 'link',
  besideImages: false,
} as const;
