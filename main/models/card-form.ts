// A model card filled in by a person (labels, format, thresholds); the graph's own input and output
// names complete it, so nobody has to type tensor names like "6568".
import { z } from 'zod';
import { parseModelCard, type ModelCard } from '../../app/model/card.js';
import { MODEL_FORMATS, type ModelFormat } from '../../app/model/types.js';
import { InvalidInputError } from '../../app/model/errors.js';

const BACKGROUND_NAMES = new Set(['__background__', 'background', '_background_', 'bg']);
const probability = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

export const CardFormSchema = z
  .object({
    name: z.string().trim().min(1, 'a model needs a name').max(200),
    format: z.enum(MODEL_FORMATS, { error: () => `format must be one of ${MODEL_FORMATS.join(', ')}` }),
    /** Class names in the model's output order, without the background (added at index 0). */
    labels: z
      .array(z.string().trim().min(1, 'a class name cannot be empty').max(200))
      .min(1, 'list at least one class')
      .refine((labels) => new Set(labels).size === labels.length, 'class names must be unique'),
    scoreThreshold: probability.default(0.5),
    maskThreshold: probability.default(0.5),
    /** Short and long side the image is scaled to; the format's usual sizes when absent. */
    minSize: z.number().int().positive().optional(),
    maxSize: z.number().int().positive().optional(),
  })
  .refine((form) => (form.minSize ?? 0) <= (form.maxSize ?? Infinity), {
    message: 'minSize must not exceed maxSize',
    path: ['minSize'],
  });

export type CardForm = z.input<typeof CardFormSchema>;

/** The graph's tensor names, in the order the graph declares them. */
export interface GraphNames {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

export class CardFormError extends InvalidInputError {
  override readonly name = 'CardFormError';
}

/** Checks a filled-in form, naming every field that is wrong; `source` starts the message. */
export function parseCardForm(input: unknown, source: string): z.output<typeof CardFormSchema> {
  const parsed = CardFormSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(form)'}: ${issue.message}`);
  throw new CardFormError(`${source}: ${problems.join('; ')}`);
}

/** How each format's graph wants its input; torchvision graphs resize internally, ONNX Zoo ones do not. */
const INPUT_PRESETS: Record<ModelFormat, Omit<ModelCard['input'], 'name'>> = {
  'torchvision-maskrcnn': { minSize: 800, maxSize: 1333, channels: 'RGB', scale: 1, mean: [0, 0, 0], sizeDivisor: 1, resizesInternally: true },
  'torchvision-fasterrcnn': { minSize: 800, maxSize: 1333, channels: 'RGB', scale: 1, mean: [0, 0, 0], sizeDivisor: 1, resizesInternally: true },
  'onnx-zoo-maskrcnn': {
    minSize: 800,
    maxSize: 1333,
    channels: 'BGR',
    scale: 255,
    mean: [102.9801, 115.9465, 122.7717],
    sizeDivisor: 32,
    resizesInternally: false,
  },
};

/**
 * Builds a validated card from the form and the graph's names. Outputs are taken in the order all
 * three formats emit them: boxes, labels, scores, then masks.
 */
export function cardFromForm(input: unknown, graph: GraphNames, source: string): ModelCard {
  const form = parseCardForm(input, source);
  const boxOnly = form.format === 'torchvision-fasterrcnn';
  const wanted = boxOnly ? 3 : 4;
  if (graph.inputNames.length !== 1 || graph.outputNames.length !== wanted) {
    throw new CardFormError(
      `${source}: format ${form.format} expects 1 input and ${wanted} outputs (boxes, labels, scores${boxOnly ? '' : ', masks'}); ` +
        `the graph has inputs [${graph.inputNames.join(', ')}] and outputs [${graph.outputNames.join(', ')}]`,
    );
  }
  const [boxes, labels, scores, masks] = graph.outputNames as [string, string, string, string?];
  const preset = INPUT_PRESETS[form.format];
  const classNames = BACKGROUND_NAMES.has(form.labels[0]!.toLowerCase()) ? form.labels.slice(1) : form.labels;
  return parseModelCard(
    {
      name: form.name,
      format: form.format,
      labels: ['__background__', ...classNames],
      input: { ...preset, name: graph.inputNames[0], minSize: form.minSize ?? preset.minSize, maxSize: form.maxSize ?? preset.maxSize },
      outputs: boxOnly ? { boxes, labels, scores } : { boxes, labels, scores, masks },
      thresholds: { score: form.scoreThreshold, mask: form.maskThreshold },
    },
    source,
  );
}
