// Box prompts inside the inference worker: an image's feature maps computed once (and kept in a memory-bounded
// cache), then for each box drawn on it the RoI heads twice: once on the box as drawn, for the class and that class's
// refined box, and once on the refined box, for the mask (pasted into it) and the class probabilities the person
// is offered. The second pass is what Mask R-CNN itself does (masks on its refined detections); it also lets a box
// drawn a little too small or too large take the whole object (BENCHMARKS.md, "Box prompts").
import { MAX_PROMPT_BOXES } from '../../app/ipc/contract.js';
import type { Bbox, Rle } from '../../app/model/types.js';
import { toBbox } from '../../app/geometry/rle.js';
import { decodeImage, DEFAULT_MAX_INPUT_PIXELS } from './decode.js';
import { FeatureCache, type CacheStats } from './feature-cache.js';
import { pasteBoxMask, regionToRle } from './masks.js';
import { toInputTensor } from './preprocess.js';
import type { ProviderChoice, ProviderReport } from './providers.js';
import { SplitModel, type FeatureMaps } from './split-model.js';

/** The feature maps kept by default: about 18 images of 640 x 480 with the shipped model. */
export const DEFAULT_CACHE_BYTES = 128 * 1024 * 1024;
/** Environment variable set to '1' for a worker that answers a person: it keeps normal priority (worker.ts). */
export const INTERACTIVE_WORKER = 'LOUPE_INTERACTIVE_WORKER';
/** A refined box thinner than this (input pixels) is not used: the box as drawn is segmented instead. */
const MIN_SIDE = 1;

export interface PromptLoadSettings {
  /** The split model's card (format torchvision-maskrcnn-split). */
  cardPath: string;
  provider: ProviderChoice;
  intraOpThreads?: number;
  /** Bytes of feature maps kept (FeatureCache); DEFAULT_CACHE_BYTES by default. */
  cacheBytes?: number;
  maxInputPixels?: number;
}

export interface PromptModelInfo {
  cardPath: string;
  name: string;
  labels: string[];
  provider: ProviderReport;
  maskThreshold: number;
  cacheBytes: number;
}

export interface PreparedFeatures {
  /** True when the maps were already cached (or being computed for another request). */
  cached: boolean;
  /** Decoding plus the backbone, for the maps computed by this request; 0 when cached. */
  featureMs: number;
  cache: CacheStats;
}

export interface ClassScore {
  labelIndex: number;
  label: string;
  score: number;
}

export interface BoxSegment {
  /** The box as drawn, [x, y, w, h] in image pixels. */
  box: Bbox;
  /** The most probable class other than the background. */
  labelIndex: number;
  label: string;
  score: number;
  /** Every class but the background, most probable first. */
  classes: ClassScore[];
  /** The heads' box for that class, which the mask fills, [x, y, w, h] in image pixels. */
  refinedBox: Bbox;
  /** Null when no pixel of the box passes the mask threshold. */
  mask: Rle | null;
  /** The mask's bounding box; null with no mask. */
  bbox: Bbox | null;
}

export interface Segmented {
  /** The image's displayed size, which masks and boxes are in. */
  width: number;
  height: number;
  /** Decoding plus the backbone when the maps were not cached; 0 when they were. */
  featureMs: number;
  /** Both passes of the heads, pasting and encoding, for all the boxes. */
  headsMs: number;
  results: BoxSegment[];
}

/** One image's maps and how its pixels map onto the input the backbone saw. */
interface ImageFeatures {
  maps: FeatureMaps;
  width: number;
  height: number;
  scaleX: number;
  scaleY: number;
  inputWidth: number;
  inputHeight: number;
}

export class PromptEngine {
  private readonly cache: FeatureCache<ImageFeatures>;
  /** Maps being computed, by key: a second request for the same image waits for the first. */
  private readonly computing = new Map<string, Promise<ImageFeatures>>();
  /** The backbone runs one image at a time: two at once would only split the cores between them. */
  private backboneQueue: Promise<unknown> = Promise.resolve();
  private readonly maxInputPixels: number;

  private constructor(
    readonly model: SplitModel,
    cacheBytes: number,
    maxInputPixels: number,
  ) {
    this.cache = new FeatureCache(cacheBytes);
    this.maxInputPixels = maxInputPixels;
  }

  static async load(settings: PromptLoadSettings): Promise<PromptEngine> {
    const model = await SplitModel.load(settings.cardPath, settings);
    return new PromptEngine(model, settings.cacheBytes ?? DEFAULT_CACHE_BYTES, settings.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS);
  }

  get info(): PromptModelInfo {
    const { card, loaded } = this.model;
    return {
      cardPath: loaded.cardPath, name: card.name, labels: [...card.labels], provider: this.model.provider,
      maskThreshold: card.thresholds.mask, cacheBytes: this.cache.maxBytes,
    };
  }

  get cacheStats(): CacheStats {
    return this.cache.stats;
  }

  /** Computes an image's maps unless they are cached; `key` names the image's content (its id and hash). */
  async prepare(key: string, file: string): Promise<PreparedFeatures> {
    const { computed, ms } = await this.features(key, file);
    return { cached: !computed, featureMs: ms, cache: this.cache.stats };
  }

  /** Segments what lies in each box ([x, y, w, h] in image pixels) of the image. Throws ImageFailure for a bad file. */
  async segment(key: string, file: string, boxes: readonly Bbox[]): Promise<Segmented> {
    if (boxes.length === 0 || boxes.length > MAX_PROMPT_BOXES) throw new Error(`a segment request takes 1 to ${MAX_PROMPT_BOXES} boxes, got ${boxes.length}`);
    const { image, ms } = await this.features(key, file);
    const start = performance.now();
    const drawn = new Float32Array(boxes.length * 4);
    boxes.forEach((box, i) => drawn.set(toInput(box, image), i * 4));
    const first = await this.model.heads(image.maps, drawn);
    // The refined box of the class the drawn box most likely holds; where it collapses, the box as drawn.
    const refined = new Float32Array(boxes.length * 4);
    for (let i = 0; i < boxes.length; i++) {
      const best = bestClass(first.scores, i, first.classes);
      const at = (i * first.classes + best) * 4;
      const box = first.refined.subarray(at, at + 4);
      const usable = box[2]! - box[0]! >= MIN_SIDE && box[3]! - box[1]! >= MIN_SIDE;
      refined.set(usable ? box : drawn.subarray(i * 4, i * 4 + 4), i * 4);
    }
    const second = await this.model.heads(image.maps, refined);
    const labels = this.model.card.labels;
    const threshold = this.model.card.thresholds.mask;
    const cells = second.maskSize * second.maskSize;
    const results = boxes.map((box, i): BoxSegment => {
      const best = bestClass(second.scores, i, second.classes);
      const fitted = toImage(refined.subarray(i * 4, i * 4 + 4), image);
      const region = pasteBoxMask(second.masks, (i * second.classes + best) * cells, second.maskSize, fitted, threshold, image.width, image.height);
      const mask = region.pixels > 0 ? regionToRle(region, image.width, image.height) : null;
      const classes = [...Array(second.classes).keys()]
        .slice(1)
        .map((k) => ({ labelIndex: k, label: labels[k] ?? `class ${k}`, score: second.scores[i * second.classes + k]! }))
        .sort((a, b) => b.score - a.score);
      return {
        box, labelIndex: best, label: labels[best] ?? `class ${best}`, score: second.scores[i * second.classes + best]!, classes,
        refinedBox: xywh(fitted), mask, bbox: mask && toBbox(mask),
      };
    });
    return { width: image.width, height: image.height, featureMs: ms, headsMs: performance.now() - start, results };
  }

  async dispose(): Promise<void> {
    this.cache.clear();
    await this.backboneQueue.catch(() => undefined);
    await this.model.release();
  }

  /** The image's maps: cached, being computed for another request, or computed now (`computed`, in `ms`). */
  private async features(key: string, file: string): Promise<{ image: ImageFeatures; computed: boolean; ms: number }> {
    const cached = this.cache.get(key);
    if (cached) return { image: cached, computed: false, ms: 0 };
    const running = this.computing.get(key);
    if (running) return { image: await running, computed: false, ms: 0 };
    const start = performance.now();
    const work = this.compute(file).then((image) => {
      this.cache.set(key, image, image.maps.bytes);
      return image;
    });
    this.computing.set(key, work);
    try {
      return { image: await work, computed: true, ms: performance.now() - start };
    } finally {
      this.computing.delete(key);
    }
  }

  private compute(file: string): Promise<ImageFeatures> {
    const run = this.backboneQueue.then(async () => {
      const card = this.model.card;
      const decoded = await decodeImage(file, card, this.maxInputPixels);
      const input = toInputTensor(decoded.rgb, decoded.inputWidth, decoded.inputHeight, card);
      const maps = await this.model.features(input.data, decoded.inputHeight, decoded.inputWidth);
      const { width, height, scaleX, scaleY, inputWidth, inputHeight } = decoded;
      return { maps, width, height, scaleX, scaleY, inputWidth, inputHeight };
    });
    this.backboneQueue = run.catch(() => undefined);
    return run;
  }
}

function bestClass(scores: Float32Array, box: number, classes: number): number {
  let best = 1;
  for (let k = 2; k < classes; k++) if (scores[box * classes + k]! > scores[box * classes + best]!) best = k;
  return best;
}

/** [x, y, w, h] in image pixels -> x1 y1 x2 y2 in input pixels, inside the input and at least a pixel across. */
function toInput([x, y, w, h]: Bbox, image: ImageFeatures): [number, number, number, number] {
  const [x1, x2] = span(x * image.scaleX, (x + w) * image.scaleX, image.inputWidth);
  const [y1, y2] = span(y * image.scaleY, (y + h) * image.scaleY, image.inputHeight);
  return [x1, y1, x2, y2];
}

/** [low, high] clamped to [0, limit], widened about its middle to MIN_SIDE where it is thinner. */
function span(low: number, high: number, limit: number): [number, number] {
  const a = clamp(low, 0, limit);
  const b = clamp(high, 0, limit);
  if (b - a >= MIN_SIDE) return [a, b];
  const start = clamp((a + b - MIN_SIDE) / 2, 0, Math.max(0, limit - MIN_SIDE));
  return [start, Math.min(limit, start + MIN_SIDE)];
}

const clamp = (v: number, low: number, high: number) => Math.min(Math.max(v, low), high);

/** x1 y1 x2 y2 in input pixels -> the same corners in image pixels. */
function toImage(box: Float32Array, image: ImageFeatures): [number, number, number, number] {
  return [box[0]! / image.scaleX, box[1]! / image.scaleY, box[2]! / image.scaleX, box[3]! / image.scaleY];
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const xywh = ([x1, y1, x2, y2]: readonly number[]): Bbox => [round2(x1!), round2(y1!), round2(x2! - x1!), round2(y2! - y1!)];
