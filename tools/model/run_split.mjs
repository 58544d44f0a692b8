// Runs the split Mask R-CNN (backbone, then RoI heads) in onnxruntime-node, so export_split.py can compare the
// runtime the app uses with the full model in PyTorch.
// usage: node tools/model/run_split.mjs BACKBONE.onnx HEADS.onnx DIR
// DIR/cases.json lists {image, dims: [3, H, W], boxes, count}: raw float32 files in DIR (boxes N x 4, x1 y1 x2 y2 in
// the image's pixels). Writes DIR/<i>/<output>.bin (float32) and DIR/<i>/outputs.json ({name: {dims}}).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [backbonePath, headsPath, dir] = process.argv.slice(2);
if (!backbonePath || !headsPath || !dir) {
  console.error('usage: node tools/model/run_split.mjs BACKBONE.onnx HEADS.onnx DIR');
  process.exit(2);
}

const floats = (file) => {
  const bytes = readFileSync(join(dir, file));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

const options = { intraOpNumThreads: 1 };
const backbone = await ort.InferenceSession.create(backbonePath, options);
const heads = await ort.InferenceSession.create(headsPath, options);
try {
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
  for (const [index, spec] of cases.entries()) {
    const maps = await backbone.run({ image: new ort.Tensor('float32', floats(spec.image), spec.dims) });
    const imageSize = new ort.Tensor('int64', BigInt64Array.from(spec.dims.slice(1).map(BigInt)), [2]);
    const boxes = new ort.Tensor('float32', floats(spec.boxes), [spec.count, 4]);
    const results = await heads.run({ ...maps, image_size: imageSize, boxes });
    const out = join(dir, String(index));
    mkdirSync(out, { recursive: true });
    const described = {};
    for (const [name, tensor] of Object.entries(results)) {
      const raw = tensor.data;
      writeFileSync(join(out, `${name}.bin`), Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      described[name] = { dims: tensor.dims };
    }
    writeFileSync(join(out, 'outputs.json'), JSON.stringify(described));
  }
} finally {
  await backbone.release();
  await heads.release();
}
