// Runs an ONNX model in onnxruntime-node on raw float32 CHW inputs and writes every output as raw bytes, so the
// Python exporter can compare the runtime the app uses with PyTorch.
// usage: node tools/model/verify_onnx.mjs MODEL.onnx OUT_DIR INPUT.bin:3xHxW [INPUT.bin:3xHxW ...]
// writes OUT_DIR/<i>/<output>.bin and OUT_DIR/<i>/outputs.json ({name: {dims, type}}), and prints the session's
// input and output names as JSON.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [modelPath, outDir, ...inputs] = process.argv.slice(2);
if (!modelPath || !outDir || inputs.length === 0) {
  console.error('usage: node tools/model/verify_onnx.mjs MODEL.onnx OUT_DIR INPUT.bin:3xHxW [...]');
  process.exit(2);
}

const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
try {
  const [inputName] = session.inputNames;
  for (const [index, spec] of inputs.entries()) {
    const [file, shapeText] = spec.split(':');
    const dims = shapeText.split('x').map(Number);
    const bytes = readFileSync(file);
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const results = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
    const dir = join(outDir, String(index));
    mkdirSync(dir, { recursive: true });
    const described = {};
    for (const [name, tensor] of Object.entries(results)) {
      const raw = tensor.data;
      writeFileSync(join(dir, `${name}.bin`), Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      described[name] = { dims: tensor.dims, type: tensor.type };
      tensor.dispose?.();
    }
    writeFileSync(join(dir, 'outputs.json'), JSON.stringify(described));
  }
  console.log(JSON.stringify({ inputNames: session.inputNames, outputNames: session.outputNames }));
} finally {
  await session.release();
}
