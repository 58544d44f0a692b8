// npm run bench:prompt — box prompts on generated scenes with ground truth, boxes drawn around each shape with every
// edge off by up to 10% of the box's size:
//  1. quality: median mask IoU with the true mask (target >= 0.9) and the right class (target >= 90% of boxes);
//  2. speed, after an image's feature maps are cached: per box p95 < 100 ms end to end, in the CLI path (`loupe segment`,
//     request to the prompt worker and back) and in the editor in Chromium (box released -> mask drawn);
// printing the feature-map time, per-box p50/p95 and their ratio to one full-model run on the same images.
// Scenes: main/inference/testing.ts's generator (the tests' scenes), and tools/model synth's (the training
// distribution: textured backgrounds, occlusion, shapes down to 12 px) where tools/model/.venv exists.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { iou } from '../dist/app/geometry/rle.js';
import { serveFolder } from '../dist/main/bridge/serve.js';
import { InferenceClient } from '../dist/main/inference/client.js';
import { PromptClient } from '../dist/main/inference/prompt-client.js';
import { jitteredBox, writePromptScenes } from '../dist/main/inference/prompt-scenes.js';
import { seededRandom } from '../dist/main/inference/testing.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'bench', 'out', 'prompt');
const SCENES = 20;
const SYNTH_SCENES = 15;
const EDITOR_SCENES = 10;

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const median = (values) => percentile(values, 50);
const f1 = (v) => v.toFixed(1);
const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');

/** Each scene's shapes, true masks and drawn boxes, from the tests' generator. */
async function testingScenes(dir) {
  const scenes = await writePromptScenes(dir, seededRandom(101), SCENES, { maxShapes: 5 });
  return scenes.map((s) => ({ file: s.file, cases: s.cases.map((c) => ({ truth: c.truth, kind: c.kind, box: c.box })) }));
}

/** tools/model synth's scenes (the training distribution), when its venv exists; null otherwise. */
function synthScenes(dir) {
  const python = join(root, 'tools', 'model', '.venv', 'bin', 'python');
  if (!existsSync(python)) return null;
  const made = spawnSync(python, ['-m', 'tools.model', 'synth', dir, '--count', String(SYNTH_SCENES), '--seed', '11'], { cwd: root, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`tools/model synth failed: ${made.stderr}`);
  const coco = JSON.parse(readFileSync(join(dir, 'annotations.json'), 'utf8'));
  const names = new Map(coco.categories.map((c) => [c.id, c.name]));
  const random = seededRandom(12);
  return coco.images.map((image) => ({
    file: join(dir, image.file_name),
    cases: coco.annotations.filter((a) => a.image_id === image.id).map((a) => ({
      truth: a.segmentation, kind: names.get(a.category_id), box: jitteredBox(a.bbox, random),
    })),
  })).filter((s) => s.cases.length > 0);
}

/**
 * One full-model run per image (decode, model, masks; in an inference worker as pre-labelling runs it) and the
 * feature maps as the app computes them when an image opens (decode and backbone, in a running prompt worker), taken
 * in turns on the same images so that both see the same load on a shared machine. Wall times around each request.
 */
async function fullAndFeatures(scenes) {
  const full = await InferenceClient.start({ cardPath: join(root, 'resources', 'models', 'loupe-shapes.json'), provider: 'auto' });
  const prompt = await PromptClient.start({ cardPath: join(root, 'resources', 'models', 'loupe-shapes-split.json'), provider: 'auto' });
  try {
    await full.predict(scenes[0].file); // warm-up, both
    await prompt.prepare('warm-up', scenes[0].file);
    const fullMs = [];
    const featureMs = [];
    for (const [i, scene] of scenes.entries()) {
      let started = performance.now();
      const outcome = await full.predict(scene.file);
      if (!outcome.ok) throw new Error(`${scene.file}: ${outcome.message}`);
      fullMs.push(performance.now() - started);
      started = performance.now();
      await prompt.prepare(`scene-${i}`, scene.file);
      featureMs.push(performance.now() - started);
    }
    return { fullMs, featureMs };
  } finally {
    await Promise.all([full.dispose(), prompt.dispose()]);
  }
}

/** `loupe segment --json` on every scene: quality and the CLI path's times. */
function cliPath(scenes, folder) {
  const ious = [];
  const featureMs = [];
  const perBoxMs = [];
  let right = 0;
  for (const scene of scenes) {
    const boxes = `${scene.file}.boxes.json`;
    writeFileSync(boxes, JSON.stringify(scene.cases.map((c) => c.box)));
    const image = scene.file.slice(folder.length + 1);
    const run = spawnSync(process.execPath, [join(root, 'bin', 'loupe.js'), 'segment', folder, image, '--boxes', boxes, '--json'], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`loupe segment ${image}: ${run.stderr}`);
    const answer = JSON.parse(run.stdout);
    featureMs.push(answer.feature_ms);
    perBoxMs.push(...answer.per_box_ms);
    answer.results.forEach((result, i) => {
      ious.push(iou(result.segmentation, scene.cases[i].truth));
      if (result.category === scene.cases[i].kind) right++;
    });
  }
  return { ious, right, featureMs, perBoxMs };
}

/** The editor in Chromium: each box dragged with the box-prompt tool, from its release to the frame that draws its mask. */
async function editorPath(folder, scenes) {
  execRenderer();
  const serving = await serveFolder(folder, { log: () => {} });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(serving.bridge.url);
    await page.waitForSelector('#app[data-ready="true"]', { timeout: 60_000 });
    // The shipped default model (the one its split graphs belong to) picked in the toolbar.
    await page.evaluate(() => {
      const session = window.__loupe.session;
      const model = session.models.find((m) => m.name === 'loupe-shapes' && m.format === 'torchvision-maskrcnn');
      session.updateSettings({ model: model.cardPath });
    });
    await page.waitForFunction(() => window.__loupe.session.prompts.unavailable === null, null, { timeout: 60_000 });
    await page.evaluate(() => {
      const session = window.__loupe.session;
      const state = (window.__promptBench = { releasedAt: 0, seen: new Set(), samples: [] });
      // The release as the browser stamped it, before any of the app's handlers ran.
      document.querySelector('[data-testid=canvas]').addEventListener('pointerup', (e) => (state.releasedAt = e.timeStamp), { capture: true });
      session.subscribe((topics) => {
        if (!topics.has('annotations')) return;
        for (const a of session.annotations) {
          if (a.origin !== 'prompted' || state.seen.has(a.id)) continue;
          state.seen.add(a.id);
          const released = state.releasedAt;
          // The canvas redraws in the next frame and Konva paints in the one after (canvas-view.ts): the mask is
          // on screen when the second frame's callbacks run.
          requestAnimationFrame(() => requestAnimationFrame(() => state.samples.push({ ms: performance.now() - released, mask: a.mask, categoryId: a.categoryId })));
        }
      });
    });
    const latencies = [];
    const ious = [];
    let right = 0;
    let first = null;
    for (const scene of scenes) {
      const name = scene.file.slice(folder.length + 1);
      const imageId = await page.evaluate(async (path) => {
        const session = window.__loupe.session;
        const image = session.images.items.find((i) => i.path === path);
        await session.open(image);
        session.setTool('prompt');
        return image.id;
      }, name);
      // The maps are computed when the image opens, the current one's and then the next one's: this waits until both
      // are cached (a person takes longer than that to drag a first box).
      const next = await page.evaluate(async (id) => (await window.__loupe.session.images.neighbour(id, 1))?.id ?? null, imageId);
      for (const id of next === null ? [imageId] : [imageId, next]) {
        const prepared = await serving.dispatch('prompt.prepare', { imageId: id });
        if (!prepared.ok) throw new Error(`prompt.prepare ${id}: ${prepared.error.message}`);
      }
      for (const { box, truth, kind } of scene.cases) {
        const [x, y, w, h] = box;
        const [a, b] = await page.evaluate(([x0, y0, x1, y1]) => [window.__loupe.canvas.toClient({ x: x0, y: y0 }), window.__loupe.canvas.toClient({ x: x1, y: y1 })], [x, y, x + w, y + h]);
        const before = await page.evaluate(() => window.__promptBench.samples.length);
        await page.mouse.move(a.x, a.y);
        await page.mouse.down();
        await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 3 });
        await page.mouse.move(b.x, b.y, { steps: 3 });
        await page.mouse.up();
        await page.waitForFunction((n) => window.__promptBench.samples.length > n, before, { timeout: 30_000 });
        const sample = await page.evaluate((n) => window.__promptBench.samples[n], before);
        // The worker's first heads run sets up its session's buffers: reported apart, as a one-off.
        if (first === null) first = sample.ms;
        else latencies.push(sample.ms);
        ious.push(iou(sample.mask, truth));
        const category = await page.evaluate((id) => window.__loupe.session.categories.find((c) => c.id === id)?.name, sample.categoryId);
        if (category === kind) right++;
      }
    }
    return { latencies, ious, right, first };
  } finally {
    await browser.close();
    await serving.close();
  }
}

function execRenderer() {
  const built = spawnSync(process.execPath, [join(root, 'renderer', 'build.mjs'), '--minify'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('the renderer did not build');
}

function qualityLine(label, { ious, right }) {
  const m = median(ious);
  const share = right / ious.length;
  return `${label}: ${ious.length} boxes, median mask IoU ${m.toFixed(3)} (target >= 0.9: ${m >= 0.9 ? 'met' : 'MISSED'}), ` +
    `right class ${(100 * share).toFixed(1)}% (target >= 90%: ${share >= 0.9 ? 'met' : 'MISSED'}), IoU p10 ${percentile(ious, 10).toFixed(3)}`;
}

function speedLine(label, times, full) {
  const p95 = percentile(times, 95);
  return `${label}: p50 ${f1(median(times))} ms, p95 ${f1(p95)} ms over ${times.length} (target p95 < 100 ms: ${p95 < 100 ? 'met' : 'MISSED'}); ` +
    `p95 / one full-model run = ${(p95 / full).toFixed(3)}`;
}

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average (1/5/15 min) at start ${load()}`);
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'scenes'), { recursive: true });
const scenes = await testingScenes(join(out, 'scenes'));
const synth = synthScenes(join(out, 'synth'));

const { fullMs: full, featureMs: warm } = await fullAndFeatures(scenes);
const fullMs = median(full);
console.log(`one full-model run (decode, model, masks; loupe-shapes.onnx in an inference worker): p50 ${f1(fullMs)} ms, p95 ${f1(percentile(full, 95))} ms over ${full.length} images (640 x 480)`);
console.log(`feature maps (decode + backbone) in a running prompt worker, in turns with the above: p50 ${f1(median(warm))} ms, p95 ${f1(percentile(warm, 95))} ms; p50 / one full-model run = ${(median(warm) / fullMs).toFixed(3)}`);

const cli = cliPath(scenes, join(out, 'scenes'));
console.log(`\ngenerated scenes (main/inference/testing.ts, seed 101): ${scenes.length} images 640 x 480`);
console.log(qualityLine('quality, CLI path', cli));
console.log(`feature maps in the CLI (a new process per image, its first backbone run): p50 ${f1(median(cli.featureMs))} ms, p95 ${f1(percentile(cli.featureMs, 95))} ms`);
console.log(speedLine('per box, CLI path (request -> heads x2 -> mask -> reply)', cli.perBoxMs, fullMs));

let synthCli = null;
if (synth) {
  synthCli = cliPath(synth, join(out, 'synth'));
  console.log(`\ntraining-distribution scenes (tools/model synth, seed 11): ${synth.length} images 256-640 px a side, shapes 12-120 px, occluded`);
  console.log(qualityLine('quality, CLI path', synthCli));
  console.log(speedLine('per box, CLI path', synthCli.perBoxMs, fullMs));
} else {
  console.log('\n(tools/model/.venv missing: the training-distribution scenes were skipped; bash tools/model/setup-venv.sh)');
}

const editor = await editorPath(join(out, 'scenes'), scenes.slice(0, EDITOR_SCENES));
console.log(`\neditor in Chromium (bridge, prompt worker, canvas), ${EDITOR_SCENES} of the generated scenes:`);
console.log(qualityLine('quality, editor path', editor));
console.log(speedLine('per box, editor path (box released -> mask drawn)', editor.latencies, fullMs));
console.log(`the first box after the prompt worker started (its heads session's first run, left out above): ${f1(editor.first)} ms`);
console.log(`\nload average (1/5/15 min) at the end ${load()}`);
writeFileSync(join(out, 'results.json'), JSON.stringify({ full, warm, cli, synth: synthCli, editor: { latencies: editor.latencies, ious: editor.ious, right: editor.right } }, null, 1));
