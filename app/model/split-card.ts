// The card of a split Mask R-CNN (tools/model/export_split.py): a backbone graph run once per image and an RoI-heads
// graph run per box, exported from the same weights as a full model, which the card names. Box prompts need one.
// Pure (zod only).
import { z } from 'zod';
import { ModelCardError, ModelCardInputSchema } from './card.js';

export const SPLIT_FORMAT = 'torchvision-maskrcnn-split';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

const GraphSchema = z
  .object({
    /** The .onnx file, relative to the card. */
    onnx: z.string().min(1),
    sha256: sha256.optional(),
  })
  .loose();

/** The FPN maps the backbone gives and the heads take, in this order. */
export const FEATURE_NAMES = ['features_0', 'features_1', 'features_2', 'features_3'] as const;

export const SplitCardSchema = z
  .object({
    format: z.literal(SPLIT_FORMAT),
    name: z.string().min(1),
    /** Class names by output index; index 0 is the background. */
    labels: z.array(z.string().min(1)).min(2, 'needs the background at index 0 and at least one class'),
    input: z.preprocess((input) => {
      // The exporter's spelling (min_size, max_size), as in full cards.
      if (typeof input !== 'object' || input === null) return input;
      const { min_size, max_size, ...rest } = input as Record<string, unknown>;
      return { minSize: min_size, maxSize: max_size, ...rest };
    }, ModelCardInputSchema),
    graphs: z.object({ backbone: GraphSchema, roi_heads: GraphSchema }).loose(),
    thresholds: z.object({ mask: z.number().min(0).max(1) }).loose().default({ mask: 0.5 }),
    /** The full model of the same weights: its card's file name, its graph's sha256, its checkpoint's sha256. */
    model: z
      .object({ card: z.string().min(1), sha256: sha256.nullable(), checkpoint_sha256: sha256.nullable().optional() })
      .loose(),
  })
  .loose();

export type SplitCard = z.infer<typeof SplitCardSchema>;

/** Whether parsed card JSON claims to be a split card (whatever else is wrong with it). */
export function isSplitCardJson(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as { format?: unknown }).format === SPLIT_FORMAT;
}

export function parseSplitCard(json: unknown, source: string): SplitCard {
  const parsed = SplitCardSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(card)'}: ${issue.message}`);
  throw new ModelCardError(`${source}: invalid split model card: ${problems.join('; ')}`);
}

/** A full model as the project knows it: the sha256 of its graph, and its card (which may name its checkpoint). */
export interface FullModelIdentity {
  readonly sha256: string;
  readonly format: string;
  readonly labels: readonly string[];
  readonly card: Readonly<Record<string, unknown>>;
}

/**
 * Whether a split card holds the weights of this full model: it names the model's graph by sha256, or (for a
 * torchvision-maskrcnn graph exported again from the same checkpoint, say with another score cut) the checkpoint
 * both cards name. The class lists must agree either way.
 */
export function splitMatches(split: SplitCard, model: FullModelIdentity): boolean {
  if (split.labels.length !== model.labels.length || split.labels.some((label, i) => label !== model.labels[i])) return false;
  if (split.model.sha256 === model.sha256) return true;
  const checkpoint = (model.card.checkpoint as { sha256?: unknown } | undefined)?.sha256;
  return model.format === 'torchvision-maskrcnn' && typeof checkpoint === 'string' && checkpoint === split.model.checkpoint_sha256;
}
