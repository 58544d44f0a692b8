// npm run bench:loop — the learning loop on a generated project: 200 synthetic scenes (tools/model synth, seeded), the
// ground truth of 50 of them imported and marked reviewed, then `loupe train` for a few minutes of fine-tuning on
// this CPU (LOOP_MINUTES, default 5), which scores the shipped model and the new version on the same held-out images.
// Then both models run once more on the held-out images and their detections are scored by Loupe's COCOeval
// (app/eval, what `loupe evaluate` uses) and by pycocotools on the same files: the AP ratio must be 1.0000.
// Prints the figures for BENCHMARKS.md, with how loaded the machine was.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openProject } from '../dist/main/store/index.js';
import { importCocoFile } from '../dist/main/fs/cocoFiles.js';
import { scanFolder } from '../dist/main/fs/index.js';
import { predict, reviewedImages, score, scoringInput, truthOf } from '../dist/main/learning/scoring.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'bench/out/loop');
const project = join(out, 'project');
const python = process.env.LOUPE_PYTHON || join(root, 'tools/model/.venv/bin/python');
const minutes = Number(process.env.LOOP_MINUTES ?? 5);
const IMAGES = 200;
const REVIEWED = 50;

const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average (1/5/15 min) at start ${load()}`);

rmSync(project, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(python, ['-m', 'tools.model', 'synth', project, '--count', String(IMAGES), '--seed', '12'], { cwd: root, stdio: 'inherit' });
const truth = JSON.parse(readFileSync(join(project, 'annotations.json'), 'utf8'));
rmSync(join(project, 'annotations.json'));
const reviewed = truth.images.slice(0, REVIEWED);
const ids = new Set(reviewed.map((i) => i.id));
const store = openProject(project);
await scanFolder(store);
const subset = join(out, 'reviewed-truth.json');
writeFileSync(subset, JSON.stringify({ ...truth, images: reviewed, annotations: truth.annotations.filter((a) => ids.has(a.image_id)) }));
await importCocoFile(store, subset);
for (const image of reviewed) store.review.markReviewed(store.images.getByPath(image.file_name).id, null);
store.close();
console.log(`project: ${IMAGES} images, ${REVIEWED} with their ground truth imported and marked reviewed`);

const started = performance.now();
const train = spawnSync(process.execPath, [join(root, 'bin/loupe.js'), 'train', project, '--minutes', String(minutes), '--json'], {
  cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
});
if (train.status !== 0) throw new Error(`loupe train failed with status ${train.status}`);
const summary = JSON.parse(train.stdout);
const wall = (performance.now() - started) / 60000;
console.log(`load average after training ${load()}`);

// The same held-out images, both models run again, scored by Loupe and by pycocotools on the same files.
const again = openProject(project);
const images = reviewedImages(again, 'heldout');
const truthByImage = truthOf(again, images);
const categories = again.categories.list();
const ORACLE = `
import contextlib, io, json, sys
from pycocotools.coco import COCO
from tools.model.metrics import coco_metrics
gt_file, box_file, segm_file, threshold, min_threshold = sys.argv[1:6]
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_file)
print(json.dumps({iou: coco_metrics(gt, json.load(open(f)), iou, threshold=float(threshold), min_threshold=float(min_threshold))
                  for iou, f in (("bbox", box_file), ("segm", segm_file))}))
`;
const rows = [];
for (const card of [summary.scores.previous ? join(root, 'resources/models/loupe-shapes.json') : null, summary.model.cardPath].filter(Boolean)) {
  const predictions = await predict(again, card, images);
  const ours = score(predictions.model, images, truthByImage, predictions.byImage, categories);
  const input = scoringInput(images, truthByImage, predictions.byImage, categories);
  const gt = join(out, 'gt.json');
  writeFileSync(gt, JSON.stringify({ images: input.images, categories: input.categories, annotations: input.annotations }));
  // One results file per kind, as COCO's loadRes reads one: boxes alone, masks alone.
  const boxes = join(out, 'boxes.json');
  const masks = join(out, 'masks.json');
  writeFileSync(boxes, JSON.stringify(input.detections.map(({ segmentation: _mask, ...d }) => d)));
  writeFileSync(masks, JSON.stringify(input.detections.map(({ bbox: _box, ...d }) => d)));
  const reference = JSON.parse(execFileSync(python, ['-c', ORACLE, gt, boxes, masks, String(ours.threshold), String(predictions.model.card.graph_score_threshold ?? 0)], {
    cwd: root, maxBuffer: 1 << 28,
  }).toString());
  rows.push({ name: predictions.model.card.name, ours, reference, detections: input.detections.length });
}
again.close();

function largestDifference(a, b) {
  if (typeof b === 'number') return Math.abs(a - b);
  if (b === null || typeof b !== 'object') return a === b ? 0 : Infinity;
  return Math.max(0, ...Object.keys(b).map((k) => largestDifference(a?.[k], b[k])));
}

const f = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(3));
console.log('');
console.log(`fine-tuning: ${summary.training.iteration} iterations in ${(summary.training.seconds / 60).toFixed(1)} min of training ` +
  `(budget ${minutes} min; ${wall.toFixed(1)} min for the whole \`loupe train\`: export, tools/model evaluate and export, scoring), ` +
  `${summary.data.trainImages} training images (${summary.data.trainInstances} instances), ${summary.data.heldoutImages} held out (${summary.data.heldoutInstances} instances)`);
console.log(`decision: ${summary.decision}`);
console.log('');
console.log('| model | held-out mask AP | AP50 | box AP | Loupe / pycocotools mask AP | box AP | largest difference, all figures |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
let failed = false;
for (const { name, ours, reference } of rows) {
  const difference = Math.max(largestDifference(ours.box, reference.bbox), largestDifference(ours.mask, reference.segm));
  if (difference > 1e-4 || (ours.mask.AP / reference.segm.AP).toFixed(4) !== '1.0000') failed = true;
  console.log(`| ${name} | ${f(ours.mask.AP)} | ${f(ours.mask.AP50)} | ${f(ours.box.AP)} | ${(ours.mask.AP / reference.segm.AP).toFixed(4)} | ` +
    `${(ours.box.AP / reference.bbox.AP).toFixed(4)} | ${difference.toExponential(1)} |`);
}
console.log(`\ntraining's own scoring (loupe train): ${summary.scores.model.name} mask AP ${f(summary.scores.model.maskAP)}` +
  (summary.scores.previous ? `, ${summary.scores.previous.name} ${f(summary.scores.previous.maskAP)}` : ''));
if (!existsSync(summary.model.cardPath)) failed = true;
if (failed) process.exitCode = 1;
