// npm run bench:prelabel — the pre-label pipeline against the bare model run on the same images.
//
// 1. Generates 200 images of shapes (640 x 480 PNG, larger than the model input so the downscale path runs).
// 2. Pipeline: a PrelabelJob over them (worker decode -> preprocess -> session.run -> postprocess -> SQLite writes):
//    one pass alone for memory (RSS sampled throughout), one pass timed against the raw run.
// 3. Raw: the same model and layout (as many sessions at once as the pool has workers, of as many threads each),
//    session.run alone on the same preprocessed tensors (prepared untimed),
//    alternating with the pipeline in chunks so both see the same load on a shared machine.
// 4. PyTorch eager (bench/prelabel_torch.py) on the same weights and images, where a checkpoint and torchvision exist.
//
// --mixed: worker memory on a folder of mixed sizes and formats instead (bench/prelabel-memory.mjs; 1,000 images).
//
// Options: --images N (200), --photo (4000x3000 JPEGs), --mixed [--against VARIANTS], --provider P (cpu), --workers N,
// --threads N (per worker), --card FILE, --checkpoint FILE, --python FILE.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => path.join(root, 'dist', p);
const { scanFolder } = await import(dist('main/fs/index.js'));
const { openProject } = await import(dist('main/store/index.js'));
const { PrelabelJob } = await import(dist('main/jobs/prelabel-job.js'));
const { loadModel, readModelCard } = await import(dist('main/inference/model.js'));
const { processWorkerPort } = await import(dist('main/inference/client.js'));
const { decodeImage } = await import(dist('main/inference/decode.js'));
const { toInputTensor } = await import(dist('main/inference/preprocess.js'));
const { prelabelImages } = await import('./prelabel-images.mjs');

const { values } = parseArgs({
  options: {
    images: { type: 'string' },
    provider: { type: 'string', default: 'cpu' },
    photo: { type: 'boolean', default: false },
    mixed: { type: 'boolean', default: false },
    against: { type: 'string', default: 'pattern-on' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    card: { type: 'string', default: path.join(root, 'resources/models/loupe-shapes.json') },
    // The checkpoint the shipped model was exported from (tools/model/README.md, "The shipped model"); runs/ is
    // not in the repository, so without it the PyTorch comparison is skipped.
    checkpoint: { type: 'string', default: path.join(root, 'tools/model/runs/finetune/last.pt') },
    python: { type: 'string' },
  },
});
const count = Number(values.images ?? (values.mixed ? 1000 : 200));
// Each image is decoded once here too; libvips' cache would only add to the RSS this bench reports.
sharp.cache(false);
const cores = os.availableParallelism();
const threads = values.threads ? Number(values.threads) : undefined;
const workerCount = values.workers ? Number(values.workers) : undefined;
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

/** Worker threads of bench/prelabel-raw-runner.mjs, each with its own session. */
async function startRawRunners(workers, threadsPerWorker) {
  const { card, onnxPath } = await readModelCard(values.card);
  return Promise.all(
    Array.from({ length: workers }, async () => {
      const worker = new Worker(path.join(root, 'bench', 'prelabel-raw-runner.mjs'), {
        workerData: { onnxPath, provider: values.provider, threads: threadsPerWorker, inputName: card.input.name },
      });
      worker.once('error', (error) => {
        console.error(`raw runner: ${error.message}`);
        process.exit(1);
      });
      const reply = (type) =>
        new Promise((resolve) => {
          const onMessage = (message) => {
            if (message.type !== type) return;
            worker.off('message', onMessage);
            resolve();
          };
          worker.on('message', onMessage);
        });
      await reply('ready');
      return {
        load: (tensors) => (worker.postMessage({ type: 'load', tensors }), reply('loaded')),
        run: () => (worker.postMessage({ type: 'run' }), reply('ran')),
        close: () => (worker.postMessage({ type: 'close' }), new Promise((resolve) => worker.once('exit', resolve))),
      };
    }),
  );
}

/** Hands the tensors out round-robin (untimed), then times the runners running them all at once. */
async function runConcurrently(runners, tensors) {
  await Promise.all(runners.map((runner, i) => runner.load(tensors.filter((_, k) => k % runners.length === i))));
  const start = performance.now();
  await Promise.all(runners.map((runner) => runner.run()));
  return performance.now() - start;
}

if (values.mixed) {
  const { mixedFolderMemory } = await import('./prelabel-memory.mjs');
  await mixedFolderMemory({
    count, card: values.card, provider: values.provider, workers: workerCount, threads, against: values.against.split(',').filter(Boolean),
  });
  process.exit(0);
}

// 1. Images, generated once and kept in bench/out (bench/prelabel-images.mjs).
const { dir: imageDir, files, description } = await prelabelImages(values.photo ? 'photos' : 'images', count);
console.log(`images: ${description}`);
console.log(`model: ${path.relative(root, values.card)}, provider ${values.provider}, ${cores} cores`);

const graphScoreThreshold = JSON.parse(readFileSync(values.card, 'utf8')).graph_score_threshold ?? 0.05;
const settings = { provider: values.provider, ...(threads ? { intraOpThreads: threads } : {}), ...(workerCount ? { workers: workerCount } : {}) };
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
  const workers = [];
  const { job, close } = await openJob(() => {
    const port = processWorkerPort();
    workers.push(port);
    return port;
  });
  const rssOf = (pid) => {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0; // the worker has exited at the end of the job
    }
  };
  const totalRss = () => workers.reduce((sum, worker) => sum + rssOf(worker.pid), process.memoryUsage().rss);
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
  console.log(`memory pass (main + ${workers.length} worker processes): ${summary.imagesPerSecond.toFixed(2)} images/s; peak RSS ${mb(peakRss)} MB; RSS at image 50 ${mb(rssAt.get(50) ?? 0)} MB, at ${files.length} ${mb(rssAt.get(files.length) ?? 0)} MB: growth ${mb(growth)} MB (target < 50 MB)`);
}

// 2b and 3. Speed: this machine is shared, so the pipeline and the raw runs alternate in chunks of ~20 images: the
// job runs a chunk, pauses (idle once its images in flight are written), then the raw sessions take the same images.
// Raw is measured twice: with as many sessions at once, of as many threads, as the pipeline's pool (the target's
// baseline: the most the model can do laid out that way), and as one session using every core (for reference).
const CHUNK = 50;
const { job, close } = await openJob();
const layout = job.layout;
const runners = await startRawRunners(layout.workers, layout.threadsPerWorker);
const single = await loadModel(values.card, { provider: values.provider, intraOpThreads: cores });
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
let rawMs = 0;
let singleMs = 0;
let rawImages = 0;
const running = job.run();
for (;;) {
  const started = performance.now();
  const why = await new Promise((resolve) => (signal = resolve));
  pipelineMs += performance.now() - started;
  const tensors = [];
  for (const file of chunkFiles.splice(0)) {
    const decoded = await decodeImage(path.join(imageDir, file), single.card);
    tensors.push(toInputTensor(decoded.rgb, decoded.inputWidth, decoded.inputHeight, single.card));
  }
  rawMs += await runConcurrently(runners, tensors);
  for (const input of tensors) {
    const feeds = { [single.card.input.name]: new ort.Tensor('float32', input.data, input.dims) };
    const start = performance.now();
    await single.session.run(feeds);
    singleMs += performance.now() - start;
  }
  rawImages += tensors.length;
  if (why === 'finished') break;
  job.resume();
}
const summary = await running;
await Promise.all(runners.map((runner) => runner.close()));
await single.session.release();
close();
const pipelineRate = summary.done / (pipelineMs / 1000);
const rawRate = rawImages / (rawMs / 1000);
const singleRate = rawImages / (singleMs / 1000);
const instances = Object.values(summary.instancesByClass).reduce((a, b) => a + b, 0);
const layoutText = `${layout.workers} worker${layout.workers === 1 ? '' : 's'} x ${layout.threadsPerWorker} thread${layout.threadsPerWorker === 1 ? '' : 's'}`;
console.log(`pipeline (${layoutText}): ${summary.done} images (${summary.failed} failed, ${instances} instances) in ${(pipelineMs / 1000).toFixed(1)} s = ${pipelineRate.toFixed(2)} images/s on ${summary.provider.provider}`);
console.log(`raw session.run, ${layoutText} at once: ${rawImages} images in ${(rawMs / 1000).toFixed(1)} s = ${rawRate.toFixed(2)} images/s`);
console.log(`raw session.run, 1 session x ${cores} threads (reference): ${rawImages} images in ${(singleMs / 1000).toFixed(1)} s = ${singleRate.toFixed(2)} images/s`);
console.log(`ratio pipeline / raw: ${(pipelineRate / rawRate).toFixed(3)} (target >= 0.9); pipeline / one-session raw: ${(pipelineRate / singleRate).toFixed(3)}`);

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
