// A model card: the JSON file beside an .onnx that says how to feed the graph and read its outputs.
// Pure (zod only), so the renderer can show a card as well as the inference worker can load one.
import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { MODEL_FORMATS } from './types.js';

const positiveInt = z.number().int().positive();
const probability = z.number().min(0).max(1);

export const ModelCardInputSchema = z
  .object({
    /** Graph input name. */
    name: z.string().min(1),
    /** The image is scaled so its short side is minSize, unless that makes the long side exceed maxSize. */
    minSize: positiveInt,
    maxSize: positiveInt,
    /** Channel order and value range the graph expects: RGB 0 to 1 (torchvision), BGR 0 to 255 (ONNX Zoo). */
    channels: z.enum(['RGB', 'BGR']).default('RGB'),
    scale: z.union([z.literal(1), z.literal(255)]).default(1),
    /** Per-channel means subtracted after scaling, in the graph's channel order. */
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
    /** Height and width are zero-padded (after mean subtraction) to a multiple of this. */
    sizeDivisor: positiveInt.default(1),
    /**
     * True when the graph resizes internally (torchvision's GeneralizedRCNNTransform) and so takes any size;
     * false when the caller must resize to the min/max size itself (ONNX Zoo).
     */
    resizesInternally: z.boolean().default(true),
  })
  .loose()
  .refine((input) => input.minSize <= input.maxSize, { message: 'minSize must not exceed maxSize' });

export const ModelCardOutputsSchema = z
  .object({
    boxes: z.string().min(1),
    labels: z.string().min(1),
    scores: z.string().min(1),
    /** Absent for box-only (Faster R-CNN) graphs. */
    masks: z.string().min(1).optional(),
  })
  .loose();

/**
 * tools/model/export.py writes cards in its own spelling: snake_case input fields (`min_size`, `pad_multiple`,
 * `color`, `range`, `resize: 'in-graph' | 'caller'`) and each output as an object with its `name`, dtype and shape.
 * This maps that spelling onto the schema's, so both kinds of card parse to the same ModelCard.
 */
function normaliseExportedCard(json: unknown): unknown {
  if (!isRecord(json)) return json;
  const card: Record<string, unknown> = { ...json };
  if (isRecord(json.input)) {
    const { min_size, max_size, color, range, pad_multiple, resize, ...rest } = json.input;
    const input: Record<string, unknown> = { ...rest };
    if (min_size !== undefined && input.minSize === undefined) input.minSize = min_size;
    if (max_size !== undefined && input.maxSize === undefined) input.maxSize = max_size;
    if (color !== undefined && input.channels === undefined) input.channels = color;
    if (Array.isArray(range) && input.scale === undefined) input.scale = range[1];
    if (pad_multiple !== undefined && input.sizeDivisor === undefined) input.sizeDivisor = pad_multiple;
    if (resize !== undefined && input.resizesInternally === undefined) {
      input.resizesInternally = resize === 'in-graph' ? true : resize === 'caller' ? false : resize;
    }
    card.input = input;
  }
  if (isRecord(json.outputs)) {
    card.outputs = Object.fromEntries(
      Object.entries(json.outputs).map(([key, value]) => [key, isRecord(value) && 'name' in value ? value.name : value]),
    );
  }
  return card;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const CardFieldsSchema = z
  .object({
    name: z.string().min(1),
    format: z.enum(MODEL_FORMATS),
    /** The .onnx file, relative to the card; by default the card's own name with .onnx. */
    onnx: z.string().min(1).optional(),
    /** sha256 of the .onnx, hex; checked on load when present. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits').optional(),
    /** Class names by output index; index 0 is the background. */
    labels: z.array(z.string().min(1)).min(2, 'needs the background at index 0 and at least one class'),
    input: ModelCardInputSchema,
    outputs: ModelCardOutputsSchema,
    thresholds: z.object({ score: probability, mask: probability }).loose().default({ score: 0.5, mask: 0.5 }),
    /** Detections scoring below this never leave the graph, so no lower threshold can bring them back. */
    graph_score_threshold: probability.optional(),
  })
  .loose()
  .superRefine((card, ctx) => {
    const needsMasks = card.format !== 'torchvision-fasterrcnn';
    if (needsMasks && card.outputs.masks === undefined) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'masks'], message: `format ${card.format} needs a masks output` });
    }
    if (!needsMasks && card.outputs.masks !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'masks'], message: 'format torchvision-fasterrcnn is box-only' });
    }
  });

export const ModelCardSchema = z.preprocess(normaliseExportedCard, CardFieldsSchema);

export type ModelCard = z.infer<typeof ModelCardSchema>;

export class ModelCardError extends InvalidInputError {
  override readonly name = 'ModelCardError';
}

/** Validates parsed card JSON; `source` (a file name) starts every message. */
export function parseModelCard(json: unknown, source: string): ModelCard {
  const parsed = ModelCardSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(card)'}: ${issue.message}`);
  throw new ModelCardError(`${source}: invalid model card: ${problems.join('; ')}`);
}
