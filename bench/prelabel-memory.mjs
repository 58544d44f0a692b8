// npm run bench:prelabel -- --mixed: inference worker memory on a folder of mixed sizes and formats.
//
// Pools of inference workers (each worker a process of its own, as in the app: decode, session.run,
// post-processing, masks to RLE) with the shipped settings and with the variants to measure against take turns on
// chunks of the same images, so that every pool sees the same load on a shared machine; then the same on a folder
// of 640x480 PNGs (one size) for reference. Per worker: RSS (read from /proc, Linux) at image 40, every 200 images
// and at the last, and its peak, sampled every 50 ms. Every variant's predictions are compared with the shipped
// settings' (labels, scores, boxes and RLE masks, exactly).
//
// --against V[,V...] (default pattern-on): the variants, each one or more of these joined by '+':
//   pattern-on   onnxruntime's memory patterns on (as shipped until this bench came)
//   arena-off    onnxruntime's CPU memory arena off
//   arena-max-2  MALLOC_ARENA_MAX=2 in the workers (glibc: at most 2 malloc arenas)
//   heap-32m     MALLOC_MMAP_THRESHOLD_=32 MB and MALLOC_TRIM_THRESHOLD_=1 GB in the workers, instead of the fixed
//                128 KB threshold (large buffers then come from the heap, which keeps them)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prelabelImages } from './prelabel-images.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { InferencePool } = await import(path.join(root, 'dist/main/inference/pool.js'));
const { processWorkerPort, workerProcessEnv } = await import(path.join(root, 'dist/main/inference/client.js'));

const VARIANT_PARTS = {
  'pattern-on': { settings: { memoryPattern: true } },
  'arena-off': { settings: { memoryArena: false } },
  'arena-max-2': { env: { MALLOC_ARENA_MAX: '2' } },
  'heap-32m': { env: { MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(1024 ** 3) } },
};
const CHUNK = 50;
const EARLY = 40;
const EVERY = 200;

function variant(name) {
  const parts = name === 'shipped' ? [] : name.split('+');
  const unknown = parts.filter((part) => !(part in VARIANT_PARTS));
  if (unknown.length > 0) throw new Error(`unknown variant ${unknown.join(', ')}; known: ${Object.keys(VARIANT_PARTS).join(', ')}`);
  return {
    name,
    settings: Object.assign({}, ...parts.map((part) => VARIANT_PARTS[part].settings ?? {})),
    env: Object.assign({}, ...parts.map((part) => VARIANT_PARTS[part].env ?? {})),
  };
}

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0; // the worker has exited
  }
}

/** One pool of workers with this variant's settings and environment, and what is measured of it. */
async function startPool(variantSpec, options, count) {
  const ports = [];
  const pool = await InferencePool.start(
    { cardPath: options.card, provider: options.provider, ...(options.threads ? { intraOpThreads: options.threads } : {}), ...variantSpec.settings },
    {
      ...(options.workers ? { workers: options.workers } : {}),
      workerPort: () => {
        const port = processWorkerPort(undefined, { ...workerProcessEnv(), ...variantSpec.env });
        ports.push(port);
        return port;
      },
    },
  );
  return { ...variantSpec, pool, ports, peak: [], at: new Map(), ms: 0, chunkMs: [], done: 0, failed: 0, predictions: new Array(count) };
}

function sample(run) {
  run.ports.forEach((port, i) => (run.peak[i] = Math.max(run.peak[i] ?? 0, rssMb(port.pid))));
}

/** Runs images [from, to) through the pool, as many at once as a PrelabelJob hands it. */
async function runChunk(run, dir, files, from, to) {
  let next = from;
  const started = performance.now();
  const lane = async () => {
    while (next < to) {
      const i = next++;
      const outcome = await run.pool.predict(path.join(dir, files[i]));
      if (outcome.ok) {
        run.predictions[i] = JSON.stringify(outcome.prediction.detections.map((d) => [d.labelIndex, d.score, d.bbox, d.mask]));
      } else {
        run.failed++;
        run.predictions[i] = `failed: ${outcome.message ?? 'cancelled'}`;
      }
      run.done++;
      sample(run);
      if (run.done === Math.min(EARLY, files.length) || run.done % EVERY === 0 || run.done === files.length) {
        run.at.set(run.done, run.ports.map((port) => rssMb(port.pid)));
      }
    }
  };
  await Promise.all(Array.from({ length: 2 * run.pool.layout.workers + 1 }, lane));
  const ms = performance.now() - started;
  run.ms += ms;
  run.chunkMs.push(ms);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const list = (values, signed = false) => values.map((v) => `${signed && v >= 0 ? '+' : ''}${v.toFixed(0)}`).join(', ');

/** Every variant over the folder, taking turns chunk by chunk (the order rotating each round); prints and returns them. */
async function compareOn(kind, variants, options) {
  const { dir, files, description } = await prelabelImages(kind, options.count);
  // The first pool to reach an image would otherwise read it from disk for all of them.
  for (const file of files) readFileSync(path.join(dir, file));
  const runs = [];
  for (const spec of variants) {
    const run = await startPool(spec, options, files.length);
    // A session's first run sets itself up (weights laid out, threads started): one untimed image per worker.
    await Promise.all(Array.from({ length: run.pool.layout.workers }, (_, i) => run.pool.predict(path.join(dir, files[i % files.length]))));
    runs.push(run);
  }
  const layout = runs[0].pool.layout;
  console.log(`\n${description}; ${layout.workers} worker processes x ${layout.threadsPerWorker} thread per pool; chunks of ${CHUNK} images taking turns`);
  const sampler = setInterval(() => runs.forEach(sample), 50);
  for (let from = 0, round = 0; from < files.length; from += CHUNK, round++) {
    for (let k = 0; k < runs.length; k++) await runChunk(runs[(k + round) % runs.length], dir, files, from, Math.min(files.length, from + CHUNK));
  }
  clearInterval(sampler);
  await Promise.all(runs.map((run) => run.pool.dispose()));
  const early = Math.min(EARLY, files.length);
  const shipped = runs[0];
  for (const run of runs) {
    run.rate = files.length / (run.ms / 1000);
    run.growth = run.at.get(files.length).map((mb, i) => mb - run.at.get(early)[i]);
    const same = run.predictions.filter((p, i) => p === shipped.predictions[i]).length;
    // Against bursts of load from elsewhere: the median over the chunks of the ratio of their times.
    run.chunkRatio = median(run.chunkMs.map((ms, i) => ms / shipped.chunkMs[i]));
    console.log(
      `  ${run.name.padEnd(22)} ${run.rate.toFixed(2)} images/s` +
        (run === shipped ? '' : ` (shipped ${(shipped.rate / run.rate).toFixed(3)}x this; median of the chunks' ${run.chunkRatio.toFixed(3)}x)`) +
        '; ' +
        `RSS per worker at image ${early}: ${list(run.at.get(early))} MB, at ${files.length}: ${list(run.at.get(files.length))} MB ` +
        `(growth ${list(run.growth, true)} MB); peak ${list(run.peak)} MB` +
        (run.failed ? `; ${run.failed} failed` : '') +
        (run === shipped ? '' : `; predictions identical to shipped on ${same} of ${files.length} images`),
    );
  }
  for (const run of runs) {
    console.log(`  ${run.name.padEnd(22)} RSS per worker (MB) by image: ${[...run.at].map(([n, mbs]) => `${n}: ${list(mbs)}`).join('; ')}`);
  }
  return runs;
}

export async function mixedFolderMemory(options) {
  const variants = [variant('shipped'), ...options.against.map(variant)];
  console.log(`model: ${path.relative(root, options.card)}, provider ${options.provider}; variants: ${variants.map((v) => v.name).join(', ')}`);
  const mixed = await compareOn('mixed', variants, options);
  const single = await compareOn('images', variants, options);
  const [shipped, oneSize] = [mixed[0], single[0]];
  const growth = Math.max(...shipped.growth);
  const peak = Math.max(...shipped.peak);
  const peakOneSize = Math.max(...oneSize.peak);
  console.log(`\ntargets, shipped settings on the mixed folder:`);
  console.log(`  RSS growth per worker from image ${Math.min(EARLY, options.count)} to ${options.count}: at most ${growth.toFixed(0)} MB (target < 50 MB): ${growth < 50 ? 'met' : 'NOT met'}`);
  console.log(`  peak per worker ${peak.toFixed(0)} MB against ${peakOneSize.toFixed(0)} MB on one size: ${(peak - peakOneSize).toFixed(0)} MB (target within 30 MB): ${peak - peakOneSize <= 30 ? 'met' : 'NOT met'}`);
  const before = mixed.findIndex((run) => run.name === 'pattern-on');
  if (before > 0) {
    const ratios = [shipped.rate / mixed[before].rate, oneSize.rate / single[before].rate];
    const chunkRatios = [mixed[before].chunkRatio, single[before].chunkRatio];
    console.log(
      `  throughput against pattern-on (as shipped before): ${ratios[0].toFixed(3)} on mixed sizes, ${ratios[1].toFixed(3)} on one size ` +
        `(medians of the chunks' ${chunkRatios[0].toFixed(3)}, ${chunkRatios[1].toFixed(3)}; target >= 0.95): ` +
        `${ratios.every((r) => r >= 0.95) ? 'met' : 'NOT met'}; its peak per worker on one size: ${Math.max(...single[before].peak).toFixed(0)} MB`,
    );
  }
}
