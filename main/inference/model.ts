// Loads a model (card + .onnx) and refuses one whose graph does not match what its card says.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { parseModelCard, type ModelCard } from '../../app/model/card.js';
import { hashFile } from '../fs/hash.js';
import { createSession, type ProviderReport, type SessionSettings } from './providers.js';

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

export interface LoadedCard {
  card: ModelCard;
  cardPath: string;
  onnxPath: string;
}

export async function readModelCard(cardPath: string): Promise<LoadedCard> {
  const absolute = path.resolve(cardPath);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ModelLoadError(`${absolute}: cannot read model card: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(`${absolute}: model card is not valid JSON: ${(error as Error).message}`);
  }
  const card = parseModelCard(json, absolute);
  const onnxName = card.onnx ?? `${path.basename(absolute, path.extname(absolute))}.onnx`;
  return { card, cardPath: absolute, onnxPath: path.resolve(path.dirname(absolute), onnxName) };
}

type ValueMetadata = ort.InferenceSession.ValueMetadata;

function describeShape(meta: ValueMetadata | undefined): string {
  return meta && meta.isTensor ? `[${meta.shape.join(', ')}]` : '(unknown shape)';
}

/** Known ranks and fixed dims each output must have, per format; symbolic dims ('N', 'h') match anything. */
function expectedShapes(card: ModelCard): Map<string, (number | null)[]> {
  const shapes = new Map<string, (number | null)[]>([
    [card.input.name, [3, null, null]],
    [card.outputs.boxes, [null, 4]],
    [card.outputs.labels, [null]],
    [card.outputs.scores, [null]],
  ]);
  if (card.outputs.masks !== undefined) {
    shapes.set(card.outputs.masks, [null, 1, null, null]);
  }
  return shapes;
}

function shapeMismatch(expected: (number | null)[], meta: ValueMetadata | undefined): boolean {
  if (!meta || !meta.isTensor) return false;
  if (meta.shape.length !== expected.length) return true;
  return expected.some((dim, i) => dim !== null && typeof meta.shape[i] === 'number' && meta.shape[i] !== dim);
}

/** Throws a message naming every way the graph's inputs and outputs differ from the card. */
export function checkGraphAgainstCard(session: ort.InferenceSession, loaded: LoadedCard): void {
  const { card } = loaded;
  const problems: string[] = [];
  const outputNames = Object.values(card.outputs).filter((name): name is string => typeof name === 'string');
  if (!session.inputNames.includes(card.input.name)) {
    problems.push(`input '${card.input.name}' named by the card is not in the graph (graph inputs: ${session.inputNames.join(', ')})`);
  }
  if (session.inputNames.length !== 1) {
    problems.push(`the graph takes ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); expected one image`);
  }
  for (const name of outputNames) {
    if (!session.outputNames.includes(name)) {
      problems.push(`output '${name}' named by the card is not in the graph (graph outputs: ${session.outputNames.join(', ')})`);
    }
  }
  if (card.outputs.masks === undefined && session.outputNames.length > 3) {
    const extra = session.outputNames.filter((name) => !outputNames.includes(name));
    problems.push(`card format ${card.format} is box-only but the graph also outputs ${extra.join(', ')}`);
  }
  const metadata = new Map<string, ValueMetadata>();
  session.inputMetadata.forEach((meta) => metadata.set(meta.name, meta));
  session.outputMetadata.forEach((meta) => metadata.set(meta.name, meta));
  for (const [name, expected] of expectedShapes(card)) {
    const meta = metadata.get(name);
    if (meta && shapeMismatch(expected, meta)) {
      const want = `[${expected.map((dim) => dim ?? '?').join(', ')}]`;
      problems.push(`'${name}' has shape ${describeShape(meta)} in the graph; format ${card.format} expects ${want}`);
    }
  }
  if (problems.length > 0) {
    throw new ModelLoadError(`${loaded.onnxPath} does not match its card ${loaded.cardPath}: ${problems.join('; ')}`);
  }
}

async function checkSha256(loaded: LoadedCard): Promise<void> {
  if (!loaded.card.sha256) return;
  const digest = await hashFile(loaded.onnxPath);
  if (digest !== loaded.card.sha256) {
    throw new ModelLoadError(`${loaded.onnxPath}: sha256 ${digest} differs from ${loaded.card.sha256} in its card ${loaded.cardPath}`);
  }
}

export interface LoadedModel extends LoadedCard {
  session: ort.InferenceSession;
  provider: ProviderReport;
}

export async function loadModel(cardPath: string, settings: SessionSettings): Promise<LoadedModel> {
  const loaded = await readModelCard(cardPath);
  try {
    await stat(loaded.onnxPath);
    await checkSha256(loaded);
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelLoadError(`${loaded.onnxPath}: model file not found (named by its card ${loaded.cardPath})`);
    }
    throw new ModelLoadError(`${loaded.onnxPath}: cannot read model file: ${(error as Error).message}`);
  }
  let created: Awaited<ReturnType<typeof createSession>>;
  try {
    created = await createSession(loaded.onnxPath, settings);
  } catch (error) {
    if ((error as Error).name === 'ProviderError') throw error;
    throw new ModelLoadError(`${loaded.onnxPath}: cannot load model: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    checkGraphAgainstCard(created.session, loaded);
  } catch (error) {
    await created.session.release();
    throw error;
  }
  return { ...loaded, session: created.session, provider: created.report };
}
