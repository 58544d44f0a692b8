// npm run bench:prelabel — the pre-label pipeline against the bare model run on the same images.
//
// 1. Generates 200 images of shapes (640 x 480 PNG, larger than the model input so the downscale path runs).
// 2. Pipeline: a PrelabelJob over them (worker decode -> preprocess -> session.run -> postprocess -> SQLite writes):
//    one pass alone for memory (RSS sampled throughout), one pass timed against the raw run.
// 3. Raw: the same model and settings, session.run alone on the same preprocessed tensors (prepared untimed),
//    alternating with the pipeline in chunks so both see the same load on a shared machine.
// 4. PyTorch eager (bench/prelabel_torch.py) on the same weights and images, where a checkpoint and torchvision exist.
//
// Options: --images N (200), --provider P (cpu), --threads N, --card FILE, --checkpoint FILE, --python FILE.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => path.join(root, 'dist', p);
const { scanFolder } = await import(dist('main/fs/index.js'));
const { openProject } = await import(dist('main/store/index.js'));
const { PrelabelJob } = await import(dist('main/jobs/prelabel-job.js'));
const { loadModel } = await import(dist('main/inference/model.js'));
const { processWorkerPort } = await import(dist('main/inference/client.js'));
const { decodeImage } = await import(dist('main/inference/decode.js'));
const { toInputTensor } = await import(dist('main/inference/preprocess.js'));
const { randomScene, seededRandom, writeScene } = await import(dist('main/inference/testing.js'));

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    provider: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    card: { type: 'string', default: path.join(root, 'resources/models/loupe-shapes.json') },
    // The checkpoint the shipped model was exported from (tools/model/README.md, "The shipped model"); runs/ is
    // not in the repository, so without it the PyTorch comparison is skipped.
    checkpoint: { type: 'string', default: path.join(root, 'tools/model/runs/finetune/last.pt') },
    python: { type: 'string' },
  },
});
const count = Number(values.images);
const threads = values.threads ? Number(values.threads) : undefined;
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

// 1. Images, generated once and kept in bench/out.
const imageDir = path.join(root, 'bench', 'out', `prelabel-images-${count}`);
if (!existsSync(imageDir) || readdirSync(imageDir).length < count) {
  mkdirSync(imageDir, { recursive: true });
  const random = seededRandom(2026);
  for (let i = 0; i < count; i++) {
    await writeScene(path.join(imageDir, `scene-${String(i).padStart(4, '0')}.png`), randomScene(random, 640, 480, 6));
  }
}
const files = readdirSync(imageDir).filter((f) => f.endsWith('.png')).sort().slice(0, count);
console.log(`images: ${files.length} x 640x480 PNG in ${path.relative(root, imageDir)}`);
console.log(`model: ${path.relative(root, values.card)}, provider ${values.provider}, intra-op threads ${threads ?? 'default'}`);

const graphScoreThreshold = JSON.parse(readFileSync(values.card, 'utf8')).graph_score_threshold ?? 0.05;
const settings = { provider: values.provider, ...(threads ? { intraOpThreads: threads } : {}) };
async function openJob(workerPort) {
  const dbDir = mkdtempSync(path.join(tmpdir(), 'loupe-bench-prelabel-'));
  const store = openProject(imageDir, { dbPath: path.join(dbDir, 'project.db') });
  await scanFolder(store);
  const job = await PrelabelJob.create({ store, cardPath: values.card, ...settings, ...(workerPort ? { workerPort } : {}) });
  const close = () => {
    store.close();
    rmSync(dbDir, { recursive: true, force: true });
  };
  return { job, close };
}

// 2a. Memory: the pipeline alone, RSS of this process (job, store) plus the inference worker's process, sampled
// throughout. The worker's RSS is read from /proc (Linux).
{
  let worker;
  const { job, close } = await openJob(() => (worker = processWorkerPort()));
  const workerRss = () => {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0; // the worker has exited at the end of the job
    }
  };
  const totalRss = () => process.memoryUsage().rss + workerRss();
  let peakRss = totalRss();
  const rssAt = new Map();
  let finished = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, totalRss())), 50);
  job.on((event) => {
    if (event.type !== 'image-done' && event.type !== 'image-failed') return;
    const rss = totalRss();
    peakRss = Math.max(peakRss, rss);
    if (++finished === 50 || finished === files.length) rssAt.set(finished, rss);
  });
  const summary = await job.run();
  clearInterval(sampler);
  close();
  const growth = (rssAt.get(files.length) ?? 0) - (rssAt.get(50) ?? 0);
  console.log(`memory pass (main + worker process): ${summary.imagesPerSecond.toFixed(2)} images/s; peak RSS ${mb(peakRss)} MB; RSS at image 50 ${mb(rssAt.get(50) ?? 0)} MB, at ${files.length} ${mb(rssAt.get(files.length) ?? 0)} MB: growth ${mb(growth)} MB (target < 50 MB)`);
}

// 2b and 3. Speed: this machine is shared, so the pipeline and the raw run alternate in chunks of ~20 images: the
// job runs a chunk, pauses (idle once its images in flight are written), then session.run alone takes the same images.
const CHUNK = 20;
const { job, close } = await openJob();
let raw = null;
let finished = 0;
let chunkFiles = [];
let signal = null;
job.on((event) => {
  if (event.type === 'image-done' || event.type === 'image-failed') {
    finished++;
    chunkFiles.push(event.path);
    if (finished % CHUNK === 0 && finished < files.length) job.pause();
  } else if (event.type === 'paused' || event.type === 'finished') {
    signal?.(event.type);
  }
});
let pipelineMs = 0;
let runMs = 0;
let rawImages = 0;
const running = job.run();
for (;;) {
  const started = performance.now();
  const why = await new Promise((resolve) => (signal = resolve));
  pipelineMs += performance.now() - started;
  raw ??= await loadModel(values.card, settings);
  for (const file of chunkFiles.splice(0)) {
    const decoded = await decodeImage(path.join(imageDir, file), raw.card);
    const input = toInputTensor(decoded.rgb, decoded.inputWidth, decoded.inputHeight, raw.card);
    const feeds = { [raw.card.input.name]: new ort.Tensor('float32', input.data, input.dims) };
    const start = performance.now();
    await raw.session.run(feeds);
    runMs += performance.now() - start;
    rawImages++;
  }
  if (why === 'finished') break;
  job.resume();
}
const summary = await running;
await raw.session.release();
close();
const pipelineRate = summary.done / (pipelineMs / 1000);
const rawRate = rawImages / (runMs / 1000);
const instances = Object.values(summary.instancesByClass).reduce((a, b) => a + b, 0);
console.log(`pipeline: ${summary.done} images (${summary.failed} failed, ${instances} instances) in ${(pipelineMs / 1000).toFixed(1)} s = ${pipelineRate.toFixed(2)} images/s on ${summary.provider.provider}`);
console.log(`raw session.run: ${rawImages} images in ${(runMs / 1000).toFixed(1)} s = ${rawRate.toFixed(2)} images/s`);
console.log(`ratio pipeline / raw: ${(pipelineRate / rawRate).toFixed(3)} (target >= 0.9)`);

// 4. PyTorch eager on the same weights and images.
const python = values.python ?? [path.join(root, 'tools/model/.venv/bin/python'), '/usr/bin/python3'].find((p) => existsSync(p));
if (!python || !existsSync(values.checkpoint)) {
  console.log(`pytorch eager: skipped (${!python ? 'no python' : `no checkpoint at ${path.relative(root, values.checkpoint)}`})`);
} else {
  try {
    const output = execFileSync(
      python,
      [
        path.join(root, 'bench', 'prelabel_torch.py'), values.checkpoint, imageDir, String(files.length),
        '--graph-score', String(graphScoreThreshold), ...(threads ? ['--threads', String(threads)] : []),
      ],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const torchRate = Number(/images\/s ([\d.]+)/.exec(output)?.[1]);
    console.log(output.trim());
    console.log(`speed-up pipeline / pytorch eager: ${(pipelineRate / torchRate).toFixed(2)}x (target >= 5x)`);
  } catch (error) {
    console.log(`pytorch eager: skipped (${String(error.message).split('\n')[0]})`);
  }
}
