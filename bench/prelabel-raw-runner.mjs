// A worker thread of bench/prelabel.mjs: one onnxruntime session that runs the tensors it is handed, so that the
// raw figure can use as many sessions at once as the pipeline's pool (session.run blocks the thread calling it).
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const { onnxPath, provider, threads, inputName } = workerData;
const session = await ort.InferenceSession.create(onnxPath, {
  executionProviders: [provider],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});
let tensors = [];
parentPort.on('message', async (message) => {
  if (message.type === 'load') {
    tensors = message.tensors;
    parentPort.postMessage({ type: 'loaded' });
  } else if (message.type === 'run') {
    for (const { data, dims } of tensors) await session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
    tensors = [];
    parentPort.postMessage({ type: 'ran' });
  } else if (message.type === 'close') {
    await session.release();
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready' });
