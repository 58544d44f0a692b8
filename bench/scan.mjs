// npm run bench:scan — folder scan throughput and the first page of a 50,000-image project.
// Generates 10,000 small images once (cached in bench/out/scan-10k), scans them into a fresh database with the
// default parallelism (files probed in the untrusted-files process, in batches) and, as the baseline, one file at a
// time; then the same default scan probing in this process instead (what it cost to move decoding out of main); then
// times an unchanged rescan and the first pages of a 50,000-row images table against the 2 s budget the UI has.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { scanFolder } from '../dist/main/fs/index.js';
import { probeImage } from '../dist/main/fs/probe.js';
import { openProject } from '../dist/main/store/index.js';

const COUNT = Number(process.env.BENCH_SCAN_COUNT ?? 10_000);
const out = fileURLToPath(new URL('./out/', import.meta.url));
const images = join(out, `scan-${COUNT}`);
const ready = join(images, '.complete');

/** A real image of the format its extension names: a plain colour with a white square (the bench's own, not a test's). */
async function writeImage(folder, path, { width, height, seed }) {
  const target = join(folder, path);
  mkdirSync(dirname(target), { recursive: true });
  const square = await sharp({ create: { width: Math.ceil(width / 3), height: Math.ceil(height / 3), channels: 3, background: '#ffffff' } }).png().toBuffer();
  const background = { r: (seed * 53) % 256, g: (seed * 97 + 80) % 256, b: (seed * 31 + 160) % 256 };
  const format = { jpg: 'jpeg', png: 'png', webp: 'webp' }[path.slice(path.lastIndexOf('.') + 1)];
  await sharp({ create: { width, height, channels: 3, background } })
    .composite([{ input: square, left: seed % (width - Math.ceil(width / 3)), top: 1 }])
    .toFormat(format)
    .toFile(target);
}

async function generate() {
  rmSync(images, { recursive: true, force: true });
  const started = performance.now();
  const extensions = ['jpg', 'jpg', 'jpg', 'png', 'webp'];
  for (let i = 0; i < COUNT; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, COUNT - i) }, (_, j) => {
        const n = i + j;
        return writeImage(images, `d${String(Math.floor(n / 500)).padStart(2, '0')}/img_${String(n).padStart(5, '0')}.${extensions[n % 5]}`, {
          width: 64 + (n % 5) * 24,
          height: 48 + (n % 3) * 16,
          seed: n,
        });
      }),
    );
  }
  writeFileSync(ready, '');
  console.log(`generated ${COUNT} images in ${((performance.now() - started) / 1000).toFixed(1)} s (cached in ${images})`);
}

/** Probes in this process: the scan as it was before decoding moved to its own process. */
const inThisProcess = {
  probeMany: (files, verify) => Promise.all(files.map((file) => probeImage(file, { verify }))),
  dispose: async () => {},
};

async function timedScan(label, concurrency, untrusted) {
  const dbPath = join(out, `scan-${label}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  const store = openProject(images, { dbPath });
  try {
    const options = { ...(concurrency !== undefined && { concurrency }), ...(untrusted && { untrusted }) };
    const first = await scanFolder(store, options);
    const again = await scanFolder(store, options);
    if (first.added !== COUNT || again.unchanged !== COUNT) throw new Error(`scan found ${first.added}/${COUNT} images`);
    return { rate: COUNT / (first.durationMs / 1000), rescanRate: COUNT / (again.durationMs / 1000), ms: first.durationMs };
  } finally {
    store.close();
  }
}

function pageOf50k() {
  const dbPath = join(out, 'list-50k.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  const store = openProject(out, { dbPath });
  const statuses = ['new', 'predicted', 'in-review', 'reviewed'];
  const rows = Array.from({ length: 50_000 }, (_, i) => ({
    file: { path: `batch_${String(i % 100).padStart(3, '0')}/img_${String(i).padStart(6, '0')}.jpg`, width: 640, height: 480, orientation: 1, hash: `h${i}`, size: 1, mtimeMs: 0, error: null },
  }));
  const ids = store.images.writeFiles(rows);
  store.transaction(() => ids.forEach((id, i) => store.images.setStatus(id, statuses[i % 4])));
  store.close();

  const t0 = performance.now();
  const fresh = openProject(out, { dbPath });
  const page = fresh.images.list({ limit: 100 });
  const counts = fresh.images.countByStatus();
  const firstMs = performance.now() - t0;
  const t1 = performance.now();
  const reviewed = fresh.images.list({ status: 'reviewed', after: 'batch_050/', limit: 100 });
  const filteredMs = performance.now() - t1;
  fresh.close();
  if (page.items.length !== 100 || reviewed.items.length !== 100 || counts.reviewed !== 12_500) throw new Error('unexpected page');
  return { firstMs, filteredMs };
}

mkdirSync(out, { recursive: true });
if (!existsSync(ready)) await generate();
const fast = await timedScan('parallel');
const baseline = await timedScan('sequential', 1);
const inProcess = await timedScan('in-process', undefined, inThisProcess);
const { firstMs, filteredMs } = pageOf50k();
const peakRssMb = process.resourceUsage().maxRSS / 1024;

console.log(`scan of ${COUNT} images (default: 16 at once, untrusted-files process): ${fast.rate.toFixed(0)} images/s (${(fast.ms / 1000).toFixed(1)} s)`);
console.log(`baseline, one file at a time:        ${baseline.rate.toFixed(0)} images/s — ratio ${(fast.rate / baseline.rate).toFixed(2)}x`);
console.log(`the default scan probing in this process instead: ${inProcess.rate.toFixed(0)} images/s — the process boundary costs ${((1 - fast.rate / inProcess.rate) * 100).toFixed(0)}%`);
console.log(`unchanged rescan:                   ${fast.rescanRate.toFixed(0)} images/s (no file read again)`);
console.log(`peak RSS:                           ${peakRssMb.toFixed(0)} MB`);
console.log(`50,000 images, open + first page of 100 + counts by status: ${firstMs.toFixed(1)} ms — ${(2000 / firstMs).toFixed(0)}x under the 2 s budget`);
console.log(`50,000 images, a 'reviewed' page after a cursor: ${filteredMs.toFixed(2)} ms`);
