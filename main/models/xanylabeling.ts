// Reads an X-AnyLabeling model config (YAML) into Loupe's card form, mapping the fields that have a
// meaning here and naming the ones that do not.
import { parse as parseYaml } from 'yaml';
import type { ModelFormat } from '../../app/model/types.js';
import type { CardForm } from './card-form.js';
import { InvalidInputError } from '../../app/model/errors.js';

export class XAnyLabelingConfigError extends InvalidInputError {
  override readonly name = 'XAnyLabelingConfigError';
}

export interface XAnyLabelingImport {
  /** The card form, complete except where `format` had to come from the caller. */
  readonly form: CardForm;
  /** `model_path` as written: a path (relative to the YAML) or an http(s) URL to download. */
  readonly model: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'url'; readonly url: string };
  /** Fields that were present but have no meaning for Loupe, each with why. */
  readonly ignored: readonly string[];
}

/** X-AnyLabeling `type`s whose graphs are one of our formats (their own exports of torchvision models). */
const TYPE_TO_FORMAT: Readonly<Record<string, ModelFormat>> = {
  mask_rcnn: 'torchvision-maskrcnn',
  maskrcnn: 'torchvision-maskrcnn',
  faster_rcnn: 'torchvision-fasterrcnn',
  fasterrcnn: 'torchvision-fasterrcnn',
};

const SCORE_KEYS = ['score_threshold', 'conf_threshold', 'confidence_threshold'] as const;
const IGNORED_WHY: Readonly<Record<string, string>> = {
  nms_threshold: 'the graph does its own non-maximum suppression',
  iou_threshold: 'the graph does its own non-maximum suppression',
  input_width: 'the card takes the sizes from the format',
  input_height: 'the card takes the sizes from the format',
  stride: 'not used by Mask R-CNN / Faster R-CNN graphs',
  anchors: 'not used by Mask R-CNN / Faster R-CNN graphs',
  filter_classes: 'choose classes in Loupe instead',
  agnostic: 'not used by Mask R-CNN / Faster R-CNN graphs',
  epsilon_factor: 'Loupe keeps masks as RLE, not polygons',
  show_boxes: 'a display setting of X-AnyLabeling',
  tracker: 'tracking is not part of Loupe',
};
const KNOWN = new Set(['type', 'name', 'display_name', 'model_path', 'classes', 'mask_threshold', ...SCORE_KEYS]);

/**
 * Parses the YAML text of an X-AnyLabeling model config. `format` overrides (or supplies) the Loupe
 * format when the config's `type` is not one Loupe runs; errors start with `source` (the file name).
 */
export function readXAnyLabelingConfig(text: string, source: string, format?: ModelFormat): XAnyLabelingImport {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new XAnyLabelingConfigError(`${source}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new XAnyLabelingConfigError(`${source}: expected a mapping of fields (type, name, model_path, classes, ...)`);
  }
  const config = doc as Record<string, unknown>;
  const fail = (message: string): never => {
    throw new XAnyLabelingConfigError(`${source}: ${message}`);
  };

  const type = typeof config.type === 'string' ? config.type : fail('missing "type"');
  const mapped = format ?? TYPE_TO_FORMAT[type.toLowerCase()];
  if (mapped === undefined) {
    fail(
      `type "${type}" has no Loupe format: Loupe runs Mask R-CNN and Faster R-CNN graphs ` +
        `(torchvision-maskrcnn, onnx-zoo-maskrcnn, torchvision-fasterrcnn). If this .onnx is one of those, choose its format when importing.`,
    );
  }

  const nameField = config.display_name ?? config.name;
  const name = typeof nameField === 'string' && nameField.trim() !== '' ? nameField : fail('missing "name" or "display_name"');

  const modelPath = typeof config.model_path === 'string' && config.model_path !== '' ? config.model_path : fail('missing "model_path"');
  const model = /^https?:\/\//i.test(modelPath) ? ({ kind: 'url', url: modelPath } as const) : ({ kind: 'file', path: modelPath } as const);
  if (model.kind === 'file' && !modelPath.toLowerCase().endsWith('.onnx')) {
    fail(`model_path "${modelPath}" is not an .onnx file; Loupe runs ONNX graphs only`);
  }

  const labels = readClasses(config.classes, fail);
  const score = readThreshold(config, SCORE_KEYS, fail);
  const mask = readThreshold(config, ['mask_threshold'], fail);

  const ignored = Object.keys(config)
    .filter((key) => !KNOWN.has(key))
    .map((key) => `${key}: ${IGNORED_WHY[key] ?? 'not a field Loupe knows'}`);
  if (format !== undefined && TYPE_TO_FORMAT[type.toLowerCase()] === undefined) {
    ignored.unshift(`type: "${type}" replaced by the chosen format ${format}`);
  }

  return {
    form: { name, format: mapped!, labels, ...(score !== undefined && { scoreThreshold: score }), ...(mask !== undefined && { maskThreshold: mask }) },
    model,
    ignored,
  };
}

/** `classes` is a list of names, or a mapping from index to name (some configs write it that way). */
function readClasses(value: unknown, fail: (message: string) => never): string[] {
  if (value === undefined) return fail('missing "classes": Loupe needs the class names in output order');
  let names: unknown[];
  if (Array.isArray(value)) {
    names = value;
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.some(([key]) => !/^\d+$/.test(key))) fail('"classes" must be a list of names or a mapping from index to name');
    names = entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, name]) => name);
  } else {
    return fail('"classes" must be a list of names or a mapping from index to name');
  }
  const bad = names.findIndex((name) => typeof name !== 'string' && typeof name !== 'number');
  if (bad >= 0) fail(`"classes" entry ${bad} is not a name`);
  if (names.length === 0) fail('"classes" is empty');
  return names.map(String);
}

function readThreshold(config: Record<string, unknown>, keys: readonly string[], fail: (message: string) => never): number | undefined {
  for (const key of keys) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) fail(`"${key}" must be a number between 0 and 1, not ${JSON.stringify(value)}`);
    return value as number;
  }
  return undefined;
}
