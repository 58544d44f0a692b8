// A split Mask R-CNN (card format torchvision-maskrcnn-split): the backbone run once per image into FPN maps, the
// RoI heads run per box on those maps. Loaded from its card, each graph's sha256 checked and its inputs and outputs
// compared with what the format needs; and found, for a full model, among the cards of the model folders.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { FEATURE_NAMES, isSplitCardJson, parseSplitCard, splitMatches, type FullModelIdentity, type SplitCard } from '../../app/model/split-card.js';
import { hashFile } from '../fs/hash.js';
import { ModelLoadError } from './model.js';
import { createSession, type ProviderReport, type SessionSettings } from './providers.js';

export interface LoadedSplitCard {
  readonly card: SplitCard;
  readonly cardPath: string;
  readonly backbonePath: string;
  readonly headsPath: string;
}

export async function readSplitCard(cardPath: string): Promise<LoadedSplitCard> {
  const absolute = path.resolve(cardPath);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(absolute, 'utf8'));
  } catch (error) {
    throw new ModelLoadError(`${absolute}: cannot read split model card: ${(error as Error).message}`);
  }
  const card = parseSplitCard(json, absolute);
  const beside = (file: string) => path.resolve(path.dirname(absolute), file);
  return { card, cardPath: absolute, backbonePath: beside(card.graphs.backbone.onnx), headsPath: beside(card.graphs.roi_heads.onnx) };
}

/** What each graph must take and give; the class count of the heads' outputs must be the card's. */
const GRAPH_NAMES = {
  backbone: { inputs: ['image'], outputs: [...FEATURE_NAMES, 'resized_size'] },
  roi_heads: { inputs: [...FEATURE_NAMES, 'resized_size', 'image_size', 'boxes'], outputs: ['scores', 'boxes_refined', 'masks'] },
} as const;

function checkGraph(session: ort.InferenceSession, graph: keyof typeof GRAPH_NAMES, file: string, card: LoadedSplitCard): void {
  const problems: string[] = [];
  const { inputs, outputs } = GRAPH_NAMES[graph];
  const missingIn = inputs.filter((name) => !session.inputNames.includes(name));
  const missingOut = outputs.filter((name) => !session.outputNames.includes(name));
  if (missingIn.length > 0) problems.push(`inputs ${missingIn.join(', ')} missing (graph inputs: ${session.inputNames.join(', ')})`);
  if (missingOut.length > 0) problems.push(`outputs ${missingOut.join(', ')} missing (graph outputs: ${session.outputNames.join(', ')})`);
  if (graph === 'roi_heads') {
    const scores = session.outputMetadata.find((meta) => meta.name === 'scores');
    const classes = scores?.isTensor ? scores.shape[1] : undefined;
    if (typeof classes === 'number' && classes !== card.card.labels.length) {
      problems.push(`it scores ${classes} classes but the card lists ${card.card.labels.length} labels`);
    }
  }
  if (problems.length > 0) throw new ModelLoadError(`${file} is not the ${graph} graph its card ${card.cardPath} describes: ${problems.join('; ')}`);
}

async function checkSha256(file: string, expected: string | undefined, cardPath: string): Promise<void> {
  if (!expected) return;
  let digest: string;
  try {
    digest = await hashFile(file);
  } catch (error) {
    throw new ModelLoadError(`${file}: cannot read model file: ${(error as Error).message}`);
  }
  if (digest !== expected) throw new ModelLoadError(`${file}: sha256 ${digest} differs from ${expected} in its card ${cardPath}`);
}

/** One image's feature maps, as the heads take them, with the sizes that map boxes between the image and the input. */
export interface FeatureMaps {
  readonly feeds: Readonly<Record<string, ort.Tensor>>;
  /** Bytes of the maps. */
  readonly bytes: number;
}

/** The heads' outputs for N boxes and K classes (index 0 the background). */
export interface HeadsOutput {
  readonly classes: number;
  /** [N, K] class probabilities. */
  readonly scores: Float32Array;
  /** [N, K, 4] each class's refined box, x1 y1 x2 y2 in input pixels. */
  readonly refined: Float32Array;
  /** [N, K, 28, 28] each class's mask probabilities over the box it was given. */
  readonly masks: Float32Array;
  readonly maskSize: number;
}

function floats(tensor: ort.Tensor | undefined, name: string): Float32Array {
  if (!tensor || !(tensor.data instanceof Float32Array)) throw new Error(`the heads graph gave no float32 output '${name}'`);
  return tensor.data;
}

export class SplitModel {
  private constructor(
    readonly loaded: LoadedSplitCard,
    private readonly backbone: ort.InferenceSession,
    private readonly roiHeads: ort.InferenceSession,
    readonly provider: ProviderReport,
  ) {}

  get card(): SplitCard {
    return this.loaded.card;
  }

  /** Loads both graphs on one provider (the backbone's decides it, then the heads run on the same). */
  static async load(cardPath: string, settings: SessionSettings): Promise<SplitModel> {
    const loaded = await readSplitCard(cardPath);
    await checkSha256(loaded.backbonePath, loaded.card.graphs.backbone.sha256, loaded.cardPath);
    await checkSha256(loaded.headsPath, loaded.card.graphs.roi_heads.sha256, loaded.cardPath);
    const open = async (file: string, provider: SessionSettings) => {
      try {
        return await createSession(file, provider);
      } catch (error) {
        if ((error as Error).name === 'ProviderError') throw error;
        throw new ModelLoadError(`${file}: cannot load model: ${(error as Error).message.split('\n')[0]}`);
      }
    };
    const backbone = await open(loaded.backbonePath, settings);
    let heads: Awaited<ReturnType<typeof createSession>> | null = null;
    try {
      heads = await open(loaded.headsPath, { ...settings, provider: backbone.report.provider });
      checkGraph(backbone.session, 'backbone', loaded.backbonePath, loaded);
      checkGraph(heads.session, 'roi_heads', loaded.headsPath, loaded);
    } catch (error) {
      await backbone.session.release();
      await heads?.session.release();
      throw error;
    }
    return new SplitModel(loaded, backbone.session, heads.session, backbone.report);
  }

  /** Runs the backbone on an input tensor (float32 RGB 0..1, [3, height, width]). */
  async features(data: Float32Array, height: number, width: number): Promise<FeatureMaps> {
    const outputs = await this.backbone.run({ image: new ort.Tensor('float32', data, [3, height, width]) });
    const feeds: Record<string, ort.Tensor> = {
      resized_size: outputs.resized_size!,
      image_size: new ort.Tensor('int64', BigInt64Array.from([BigInt(height), BigInt(width)]), [2]),
    };
    let bytes = 0;
    for (const name of FEATURE_NAMES) {
      const map = outputs[name]!;
      feeds[name] = map;
      bytes += (map.data as Float32Array).byteLength;
    }
    return { feeds, bytes };
  }

  /** Runs the heads on boxes (x1 y1 x2 y2 in input pixels, N x 4). */
  async heads(features: FeatureMaps, boxes: Float32Array): Promise<HeadsOutput> {
    const count = boxes.length / 4;
    const outputs = await this.roiHeads.run({ ...features.feeds, boxes: new ort.Tensor('float32', boxes, [count, 4]) });
    const masks = outputs.masks!;
    return {
      classes: outputs.scores!.dims[1]!,
      scores: floats(outputs.scores, 'scores'),
      refined: floats(outputs.boxes_refined, 'boxes_refined'),
      masks: floats(masks, 'masks'),
      maskSize: masks.dims[3]!,
    };
  }

  async release(): Promise<void> {
    await Promise.allSettled([this.backbone.release(), this.roiHeads.release()]);
  }
}

/** Whether a .json file is a split model's card (an unreadable one is not). */
export async function isSplitCardFile(file: string): Promise<boolean> {
  try {
    return isSplitCardJson(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return false;
  }
}

/** Where a full model's split graphs are, or why there are none. */
export type SplitLookup = { readonly cardPath: string; readonly card: SplitCard } | { readonly cardPath: null; readonly reason: string };

/**
 * The split card, among the .json files of `dirs` (in order), that holds this full model's weights (splitMatches).
 * Unreadable cards are passed over: the model manager reports them.
 */
export async function findSplitCard(model: FullModelIdentity & { readonly name: string }, dirs: readonly string[]): Promise<SplitLookup> {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => name.toLowerCase().endsWith('.json')).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const cardPath = path.join(dir, name);
      let json: unknown;
      try {
        json = JSON.parse(await readFile(cardPath, 'utf8'));
      } catch {
        continue;
      }
      if (!isSplitCardJson(json)) continue;
      try {
        const card = parseSplitCard(json, cardPath);
        if (splitMatches(card, model)) return { cardPath, card };
      } catch {
        continue;
      }
    }
  }
  return { cardPath: null, reason: noSplitReason(model) };
}

export function noSplitReason(model: { readonly name: string; readonly format: string }): string {
  const layout = model.format === 'onnx-zoo-maskrcnn' ? ' (the ONNX Zoo layout)' : model.format === 'torchvision-fasterrcnn' ? ' (boxes only)' : '';
  return `${model.name}${layout} has no split graph: box prompts need its backbone and RoI heads exported apart ` +
    '(a torchvision-maskrcnn-split card of the same weights; python -m tools.model.export_split)';
}
