import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fromCounts } from '../../../app/geometry/rle.js';
import { MAX_PROMPT_BOXES } from '../../../app/ipc/contract.js';
import { isSplitCardJson } from '../../../app/model/split-card.js';
import type { Bbox } from '../../../app/model/types.js';
import { hashFile } from '../../fs/hash.js';
import { isImageFileName } from '../../fs/imageFiles.js';
import { ImageFailure } from '../../inference/decode.js';
import { readModelCard } from '../../inference/model.js';
import type { BoxSegment } from '../../inference/prompt-engine.js';
import { cacheBytesFromEnv, PromptClient } from '../../inference/prompt-client.js';
import { findSplitCard } from '../../inference/split-model.js';
import { activeModelCard, shippedModelCard } from '../../jobs/active-model.js';
import { defaultDbPath, openProject } from '../../store/index.js';
import { CliError, requireFolder, stringValue, UsageError, type Command, type ParsedArgs } from '../command.js';

export const segmentCommand: Command = {
  name: 'segment',
  summary: 'segment what lies in boxes drawn on an image, with the model\'s own heads (box prompts)',
  usage: '<folder> <image> --box x,y,w,h [--box x,y,w,h ...] [--boxes FILE.json] [--model CARD] [--json] [--db FILE]',
  details: [
    '<image>             the image, relative to the folder (or a path inside it)',
    '--box x,y,w,h       a box in image pixels (as displayed, EXIF rotation applied); repeat for more',
    '--boxes FILE.json   more boxes: a JSON array of [x, y, w, h], or {"boxes": [...]}',
    '--model CARD        a model card: a full model (its split graphs are looked up beside it and among the shipped',
    '                    models) or a torchvision-maskrcnn-split card; default: the project\'s active model',
    '--json              {"image", "results": [{"box", "category", "score", "segmentation": {"size", "counts"}}],',
    '                    "feature_ms", "per_box_ms"} on stdout',
    'The image\'s feature maps are computed once (feature_ms); each box then runs the RoI heads (per_box_ms, each',
    'measured end to end: request, heads, mask pasting and encoding, reply). Nothing is written to the project.',
  ],
  options: { box: { type: 'string', multiple: true }, boxes: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' } },
  positionals: ['folder', 'image'],
  async run(args, io) {
    const folder = requireFolder(args.positionals[0]!);
    const boxes = [...parseBoxOptions(args), ...(await readBoxesFile(stringValue(args, 'boxes')))];
    if (boxes.length === 0) throw new UsageError('give at least one box: --box x,y,w,h or --boxes FILE.json');
    if (boxes.length > MAX_PROMPT_BOXES) throw new UsageError(`at most ${MAX_PROMPT_BOXES} boxes at once, got ${boxes.length}`);
    const image = await imageInFolder(folder, args.positionals[1]!);
    const splitCard = await splitCardFor(folder, args);
    const client = await PromptClient.start({ cardPath: splitCard, provider: 'auto', ...withCache() }).catch((error: unknown) => {
      throw new CliError(splitCard, (error as Error).message);
    });
    try {
      const key = await hashFile(image.file);
      const featureStart = performance.now();
      await client.prepare(key, image.file);
      const featureMs = performance.now() - featureStart;
      const results: BoxSegment[] = [];
      const perBoxMs: number[] = [];
      let size: Size = [0, 0];
      for (const box of boxes) {
        const start = performance.now();
        const answer = await client.segment(key, image.file, [box]);
        perBoxMs.push(performance.now() - start);
        results.push(answer.results[0]!);
        size = [answer.height, answer.width];
      }
      const run = { image: image.name, size, results, featureMs, perBoxMs };
      io.out(args.values.json ? jsonText(run) : text(run, client.model.name));
    } catch (error) {
      if (error instanceof ImageFailure) throw new CliError(image.name, error.message);
      throw error;
    } finally {
      await client.dispose();
    }
  },
};

/** The --box values, each x,y,w,h with a positive width and height. */
function parseBoxOptions(args: ParsedArgs): Bbox[] {
  // `multiple: true` options come as arrays.
  const values = (args.values.box as unknown as string[] | undefined) ?? [];
  return values.map((text) => {
    const parts = text.split(',').map((part) => part.trim());
    const numbers = parts.map(Number);
    if (parts.length !== 4 || parts.some((p) => p === '') || !numbers.every(Number.isFinite) || numbers[2]! <= 0 || numbers[3]! <= 0) {
      throw new UsageError(`--box takes x,y,w,h (numbers, width and height above 0), got '${text}'`);
    }
    return numbers as unknown as Bbox;
  });
}

async function readBoxesFile(file: string | undefined): Promise<Bbox[]> {
  if (file === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(file, error instanceof SyntaxError ? `not JSON: ${error.message}` : `cannot read: ${(error as Error).message}`);
  }
  const list = Array.isArray(json) ? json : (json as { boxes?: unknown } | null)?.boxes;
  if (!Array.isArray(list)) throw new CliError(file, 'expected a JSON array of [x, y, w, h] boxes, or {"boxes": [...]}');
  return list.map((box, i) => {
    const ok = Array.isArray(box) && box.length === 4 && box.every((v) => typeof v === 'number' && Number.isFinite(v)) && box[2] > 0 && box[3] > 0;
    if (!ok) throw new CliError(file, `box ${i + 1} is not [x, y, w, h] with a positive width and height: ${JSON.stringify(box)}`);
    return box as unknown as Bbox;
  });
}

/** The image named relative to the folder (or by a path inside it), which must exist. */
async function imageInFolder(folder: string, name: string): Promise<{ file: string; name: string }> {
  const file = path.resolve(folder, name);
  const relative = path.relative(folder, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new CliError(name, `not inside ${folder}`);
  const info = await stat(file).catch(() => null);
  if (!info) throw new CliError(name, `no such image in ${folder}`);
  if (!info.isFile()) throw new CliError(name, 'not a file');
  if (!isImageFileName(file)) throw new CliError(name, 'not an image file name (jpg, jpeg, png, webp, tif, tiff, bmp, gif)');
  return { file, name: relative.split(path.sep).join('/') };
}

/** The split card to run: --model's (or the split graphs of the full model it names), else the active model's. */
async function splitCardFor(folder: string, args: ParsedArgs): Promise<string> {
  const named = stringValue(args, 'model');
  let cardPath: string;
  if (named !== undefined) {
    cardPath = path.resolve(named);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(cardPath, 'utf8'));
    } catch (error) {
      throw new CliError(named, `cannot read the model card: ${(error as Error).message}`);
    }
    if (isSplitCardJson(json)) return cardPath;
  } else {
    cardPath = activeCard(folder, args);
  }
  let model;
  try {
    const { card, onnxPath } = await readModelCard(cardPath);
    model = { name: card.name, format: card.format, labels: card.labels, card, sha256: card.sha256 ?? (await hashFile(onnxPath)) };
  } catch (error) {
    throw new CliError(cardPath, (error as Error).message.replace(`${cardPath}: `, ''));
  }
  const dirs = [path.dirname(cardPath), path.dirname(shippedModelCard()), path.join(folder, '.loupe', 'models')];
  const found = await findSplitCard(model, dirs);
  if (found.cardPath === null) throw new CliError(cardPath, found.reason);
  return found.cardPath;
}

/** The project's active model when the folder has a project; the shipped default otherwise (nothing is created). */
function activeCard(folder: string, args: ParsedArgs): string {
  const dbOption = stringValue(args, 'db');
  const dbPath = dbOption ? path.resolve(dbOption) : defaultDbPath(folder);
  if (!existsSync(dbPath)) return shippedModelCard();
  const store = openProject(folder, { dbPath });
  try {
    return activeModelCard(store).cardPath;
  } finally {
    store.close();
  }
}

function withCache(): { cacheBytes?: number } {
  const bytes = cacheBytesFromEnv();
  return bytes === undefined ? {} : { cacheBytes: bytes };
}

/** [height, width], as COCO's segmentation `size`. */
type Size = [number, number];

interface Run {
  readonly image: string;
  readonly size: Size;
  readonly results: readonly BoxSegment[];
  readonly featureMs: number;
  readonly perBoxMs: readonly number[];
}

/** The result's mask, or an empty one of the image's size when nothing in the box passed the threshold. */
function segmentation(result: BoxSegment, size: Size): { size: Size; counts: string } {
  const mask = result.mask ?? fromCounts(size, [size[0] * size[1]]);
  return { size: [mask.size[0], mask.size[1]], counts: mask.counts };
}

const ms = (v: number) => Math.round(v * 10) / 10;

function jsonText(run: Run): string {
  return `${JSON.stringify({
    image: run.image,
    results: run.results.map((r) => ({ box: [...r.box], category: r.label, score: round(r.score), segmentation: segmentation(r, run.size) })),
    feature_ms: ms(run.featureMs),
    per_box_ms: run.perBoxMs.map(ms),
  })}\n`;
}

function text(run: Run, model: string): string {
  const [height, width] = run.size;
  const lines = [`${run.image}: ${width} x ${height}, ${model}, feature maps ${ms(run.featureMs)} ms`];
  run.results.forEach((r, i) => {
    const head = `box ${r.box.join(',')}: ${r.label} ${r.score.toFixed(3)}`;
    const took = `${ms(run.perBoxMs[i]!)} ms`;
    if (!r.mask || !r.bbox) lines.push(`${head}, nothing above the mask threshold in the box (${took})`);
    else lines.push(`${head}, bbox ${r.bbox.join(',')} (${took})`, `  rle ${r.mask.counts}`);
  });
  const sorted = [...run.perBoxMs].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  lines.push(`per box: p50 ${ms(p(0.5))} ms, p95 ${ms(p(0.95))} ms over ${sorted.length} box${sorted.length === 1 ? '' : 'es'}`);
  return `${lines.join('\n')}\n`;
}

const round = (v: number) => Math.round(v * 10000) / 10000;
