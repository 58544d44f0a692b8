// Opening a model file someone gave (an import, a download): onnxruntime parses it natively, so this runs in the
// untrusted-files process (./process.ts), never in main.
import ort from 'onnxruntime-node';
import { loadModel } from '../inference/model.js';
import type { GraphNames } from '../models/card-form.js';
import { ModelImportError } from '../models/manager.js';

/** The graph's input and output names, read by opening it in onnxruntime. */
export async function readGraphNames(onnxPath: string): Promise<GraphNames> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxPath);
  } catch (error) {
    throw new ModelImportError(`${onnxPath}: not a loadable ONNX model: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    return { inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
  } finally {
    await session.release();
  }
}

/** Loads the card's model once on the CPU, which checks the graph against the card; throws why it does not match. */
export async function verifyModel(cardPath: string): Promise<void> {
  const loaded = await loadModel(cardPath, { provider: 'cpu' });
  await loaded.session.release();
}
