// The model manager: lists the models in the shipped, user and project model folders, and adds new
// ones (a card file, a filled-in form, an X-AnyLabeling config, or a download) without ever
// replacing a file that is already there. Every added model is loaded once in onnxruntime to prove
// its graph matches its card before it is listed: by `ModelChecks`, which open the untrusted file in a
// process of their own (main/untrusted), never in the caller's.
import { constants, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseModelCard, type ModelCard } from '../../app/model/card.js';
import type { ModelFormat } from '../../app/model/types.js';
import { hashFile } from '../fs/hash.js';
import { readModelCard } from '../inference/model.js';
import { isSplitCardFile } from '../inference/split-model.js';
import { cardFromForm, parseCardForm, type GraphNames } from './card-form.js';
import { downloadFile, type DownloadProgress, type DownloadSettings } from './download.js';
import { readXAnyLabelingConfig } from './xanylabeling.js';
import { ConflictError, InvalidInputError } from '../../app/model/errors.js';

export type ModelSource = 'shipped' | 'user' | 'project';

export interface ModelFolder {
  readonly source: ModelSource;
  readonly dir: string;
}

export interface ModelEntry {
  readonly source: ModelSource;
  readonly name: string;
  readonly format: ModelFormat;
  /** Class names without the background. */
  readonly classes: readonly string[];
  readonly thresholds: { readonly score: number; readonly mask: number };
  /** The card's `metrics` (mask AP50 and the like) when it has them. */
  readonly metrics: Readonly<Record<string, unknown>> | null;
  readonly cardPath: string;
  readonly onnxPath: string;
  readonly bytes: number;
  /** The whole card, as validated. */
  readonly card: ModelCard;
}

export interface ModelListing {
  readonly models: readonly ModelEntry[];
  /** Cards that could not be read, each with the file and the reason; they are left untouched. */
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

export class ModelExistsError extends ConflictError {
  override readonly name = 'ModelExistsError';
  constructor(readonly file: string) {
    super(`${file} already exists; it is never overwritten. Import under another name, or remove the old model first.`);
  }
}

export class ModelImportError extends InvalidInputError {
  override readonly name = 'ModelImportError';
}

/** What opening a model file tells: done where a malformed file can crash nothing but that process. */
export interface ModelChecks {
  /** The graph's input and output names; a ModelImportError when it is not a loadable ONNX model. */
  graphNames(onnxPath: string): Promise<GraphNames>;
  /** Loads the card's model once (CPU) to prove the graph matches the card; throws why it does not. */
  verify(cardPath: string): Promise<void>;
}

export async function listModels(folders: readonly ModelFolder[]): Promise<ModelListing> {
  const models: ModelEntry[] = [];
  const problems: { file: string; message: string }[] = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = (await readdir(folder.dir)).filter((name) => name.toLowerCase().endsWith('.json')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const name of names) {
      const cardPath = path.join(folder.dir, name);
      // Split graphs (box prompts) are not a model to pick: they serve the full model of the same weights.
      if (await isSplitCardFile(cardPath)) continue;
      try {
        const loaded = await readModelCard(cardPath);
        const bytes = await stat(loaded.onnxPath).then(
          (info) => info.size,
          () => {
            throw new ModelImportError(`${cardPath}: its model file ${loaded.onnxPath} is missing`);
          },
        );
        models.push(entryOf(folder.source, loaded.card, cardPath, loaded.onnxPath, bytes));
      } catch (error) {
        problems.push({ file: cardPath, message: (error as Error).message });
      }
    }
  }
  return { models, problems };
}

function entryOf(source: ModelSource, card: ModelCard, cardPath: string, onnxPath: string, bytes: number): ModelEntry {
  const metrics = card.metrics;
  return {
    source,
    name: card.name,
    format: card.format,
    classes: card.labels.slice(1),
    thresholds: { score: card.thresholds.score, mask: card.thresholds.mask },
    metrics: metrics !== null && typeof metrics === 'object' && !Array.isArray(metrics) ? (metrics as Record<string, unknown>) : null,
    cardPath,
    onnxPath,
    bytes,
    card,
  };
}

export interface ImportTarget {
  /** The user's or the project's model folder; created when missing. */
  readonly dir: string;
  readonly source: ModelSource;
}

/** Imports an .onnx with its card file (JSON); the card's `onnx` field is rewritten to the copy. */
export async function importWithCard(onnxPath: string, cardPath: string, target: ImportTarget, checks: ModelChecks): Promise<ModelEntry> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(cardPath, 'utf8'));
  } catch (error) {
    throw new ModelImportError(`${cardPath}: cannot read the card: ${(error as Error).message}`);
  }
  return install(parseModelCard(json, cardPath), onnxPath, target, checks);
}

/** Imports an .onnx with a card filled in by a person (see CardFormSchema). */
export async function importWithForm(onnxPath: string, form: unknown, target: ImportTarget, checks: ModelChecks): Promise<ModelEntry> {
  const card = cardFromForm(form, await checks.graphNames(onnxPath), onnxPath);
  return install(card, onnxPath, target, checks);
}

export interface DownloadHooks {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /** Limits and trust for the download (see DownloadSettings); the defaults when absent. */
  readonly settings?: DownloadSettings | undefined;
}

/**
 * Imports what an X-AnyLabeling config describes: its `model_path` is a file beside the YAML or a URL
 * that is downloaded (resumable) first. `format` is needed when the config's `type` is not one Loupe
 * runs. Returns the entry and the config fields that were ignored, with why.
 */
export async function importXAnyLabeling(
  yamlPath: string,
  target: ImportTarget,
  checks: ModelChecks,
  options: { readonly format?: ModelFormat; readonly sha256?: string } & DownloadHooks = {},
): Promise<{ entry: ModelEntry; ignored: readonly string[] }> {
  const text = await readFile(yamlPath, 'utf8').catch((error: Error) => {
    throw new ModelImportError(`${yamlPath}: cannot read: ${error.message}`);
  });
  const config = readXAnyLabelingConfig(text, yamlPath, options.format);
  const entry =
    config.model.kind === 'file'
      ? await importWithForm(path.resolve(path.dirname(yamlPath), config.model.path), config.form, target, checks)
      : await downloadModel(config.model.url, config.form, target, checks, options);
  return { entry, ignored: config.ignored };
}

/**
 * Downloads an .onnx (progress, cancel, resume) straight into the target folder, checks it against the
 * sha256 the caller gives (required: the card then records a hash someone vouched for, not merely what
 * arrived) and installs it with a card built from `form`. A cancelled download leaves
 * `<name>.onnx.part` to resume from.
 */
export async function downloadModel(
  url: string,
  form: unknown,
  target: ImportTarget,
  checks: ModelChecks,
  options: { readonly sha256?: string | undefined } & DownloadHooks = {},
): Promise<ModelEntry> {
  const { name } = parseCardForm(form, url);
  const sha256 = options.sha256?.toLowerCase();
  if (sha256 === undefined || sha256 === '') {
    throw new ModelImportError(`${url}: a sha256 of the model file is required to download it (or download it yourself and import the file)`);
  }
  const { onnx, card } = await freePaths(target.dir, name);
  await mkdir(target.dir, { recursive: true });
  await downloadFile({ ...options.settings, url, destination: onnx, sha256, signal: options.signal, onProgress: options.onProgress });
  try {
    const built = cardFromForm(form, await checks.graphNames(onnx), url);
    return await writeCardAndVerify({ ...built, sha256 }, onnx, card, target.source, checks);
  } catch (error) {
    await rm(onnx, { force: true });
    throw error;
  }
}

async function install(card: ModelCard, onnxSource: string, target: ImportTarget, checks: ModelChecks): Promise<ModelEntry> {
  await stat(onnxSource).catch(() => {
    throw new ModelImportError(`${onnxSource}: model file not found`);
  });
  const { onnx, card: cardPath } = await freePaths(target.dir, card.name);
  await mkdir(target.dir, { recursive: true });
  try {
    await copyFile(onnxSource, onnx, constants.COPYFILE_EXCL);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ModelExistsError(onnx);
    throw error;
  }
  try {
    return await writeCardAndVerify(card, onnx, cardPath, target.source, checks);
  } catch (error) {
    await rm(onnx, { force: true });
    throw error;
  }
}

/** Writes the card beside `onnx` (exclusively), then proves the pair loads; removes the card if not. */
async function writeCardAndVerify(card: ModelCard, onnx: string, cardPath: string, source: ModelSource, checks: ModelChecks): Promise<ModelEntry> {
  const digest = await hashFile(onnx);
  if (card.sha256 !== undefined && card.sha256 !== digest) {
    throw new ModelImportError(`${onnx}: sha256 ${digest} differs from ${card.sha256} in its card`);
  }
  const written: ModelCard = { ...card, onnx: path.basename(onnx), sha256: digest };
  try {
    await writeFile(cardPath, `${JSON.stringify(written, null, 2)}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ModelExistsError(cardPath);
    throw error;
  }
  try {
    await checks.verify(cardPath);
  } catch (error) {
    await rm(cardPath, { force: true });
    // A check that failed in the untrusted-files process names the card first; its reason names both files already.
    const message = (error as Error).message;
    throw new ModelImportError(`import refused: ${message.startsWith(`${cardPath}: `) ? message.slice(cardPath.length + 2) : message}`);
  }
  return entryOf(source, written, cardPath, onnx, (await stat(onnx)).size);
}

/** `<slug>.onnx` and `<slug>.json` in `dir`, refusing (never replacing) names already taken. */
async function freePaths(dir: string, name: string): Promise<{ onnx: string; card: string }> {
  const slug = slugify(name);
  const onnx = path.join(dir, `${slug}.onnx`);
  const card = path.join(dir, `${slug}.json`);
  // A `<slug>.onnx.part` is an interrupted download of this very model: it is resumed, not refused.
  for (const file of [onnx, card]) {
    if (await stat(file).then(() => true, () => false)) throw new ModelExistsError(file);
  }
  return { onnx, card };
}

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 80);
  return slug === '' ? 'model' : slug;
}
