// npm run bench:cocoeval — Loupe's COCOeval (app/eval/cocoeval.ts) against pycocotools on the shipped model's
// predictions for its 300 held-out images: every figure's largest difference (must be 0 to within 1e-4), the AP
// ratio (must be 1.0000), and the time each takes (median of 3), the ratio to pycocotools being the baseline.
// The predictions are made once by `tools/model evaluate --predictions` (a few CPU minutes; cached in bench/out).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cocoEvaluate } from '../dist/app/eval/cocoeval.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'bench/out/cocoeval');
const python = join(root, 'tools/model/.venv/bin/python');
const heldout = join(root, 'tools/model/data/heldout');
const predictions = join(out, 'predictions.json');
const card = JSON.parse(readFileSync(join(root, 'resources/models/loupe-shapes.json'), 'utf8'));
const threshold = card.thresholds.score;
const minThreshold = card.graph_score_threshold;

mkdirSync(out, { recursive: true });
if (!existsSync(join(heldout, 'annotations.json'))) {
  execFileSync(python, ['-m', 'tools.model', 'synth', heldout, '--count', '300', '--seed', '2'], { cwd: root, stdio: 'inherit' });
}
if (!existsSync(predictions)) {
  execFileSync(python, ['-m', 'tools.model', 'evaluate', 'resources/models/loupe-shapes.pt', heldout, '--predictions', predictions,
    '--out', join(out, 'metrics.json')], { cwd: root, stdio: 'inherit' });
}
const truth = JSON.parse(readFileSync(join(heldout, 'annotations.json'), 'utf8'));
const detections = JSON.parse(readFileSync(predictions, 'utf8'));

const ORACLE = `
import contextlib, io, json, sys, time
from pycocotools.coco import COCO
from tools.model.metrics import coco_metrics
gt_file, dt_file, threshold, min_threshold = sys.argv[1:5]
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_file)
results = json.load(open(dt_file))
out = {}
for iou_type in ("bbox", "segm"):
    times = []
    for _ in range(3):
        started = time.perf_counter()
        out[iou_type] = coco_metrics(gt, results, iou_type, threshold=float(threshold), min_threshold=float(min_threshold))
        times.append(time.perf_counter() - started)
    out[iou_type]["seconds"] = sorted(times)[1]
json.dump(out, sys.stdout)
`;
const reference = JSON.parse(
  execFileSync(python, ['-c', ORACLE, join(heldout, 'annotations.json'), predictions, String(threshold), String(minThreshold)], {
    cwd: root,
    maxBuffer: 1 << 28,
  }).toString(),
);

function largestDifference(a, b) {
  if (typeof b === 'number') return Math.abs(a - b);
  if (b === null || typeof b !== 'object') return a === b ? 0 : Infinity;
  return Math.max(0, ...Object.keys(b).filter((k) => k !== 'seconds').map((k) => largestDifference(a?.[k], b[k])));
}

const input = { images: truth.images, categories: truth.categories, annotations: truth.annotations, detections };
console.log(`${truth.images.length} images, ${truth.annotations.length} instances, ${detections.length} detections; threshold ${threshold}, suggestions from ${minThreshold}`);
console.log('| | AP (Loupe) | AP (pycocotools) | ratio | largest difference, all figures | Loupe | pycocotools | time ratio |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const iouType of ['bbox', 'segm']) {
  const times = [];
  let metrics;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    metrics = cocoEvaluate(input, { iouType, threshold, minThreshold });
    times.push((performance.now() - started) / 1000);
  }
  const seconds = times.sort((a, b) => a - b)[1];
  const py = reference[iouType];
  const difference = largestDifference(metrics, py);
  console.log(
    `| ${iouType} | ${metrics.AP.toFixed(4)} | ${py.AP.toFixed(4)} | ${(metrics.AP / py.AP).toFixed(4)} | ${difference.toExponential(1)} | ` +
      `${seconds.toFixed(3)} s | ${py.seconds.toFixed(3)} s | ${(seconds / py.seconds).toFixed(2)}x |`,
  );
  if (difference > 1e-4) process.exitCode = 1;
}
