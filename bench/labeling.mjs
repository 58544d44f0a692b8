// npm run bench:labeling [-- --json] [-- --scenes N] — labeling efficiency, measured. A scripted annotator
// (bench/labeling/annotator.ts) drives the headless review session with the actions keys and the mouse produce,
// over the real bridge, store and model, on generated scenes whose true masks are known:
//  (a) correcting the shipped model's predictions (resources/models/loupe-shapes.json, run from the session as the
//      toolbar runs it) until every instance matches the truth at mask IoU >= 0.9 with the right class;
//  (b) drawing the same instances from scratch with the polygon and brush tools, to the same standard.
// It counts key presses, clicks and drags and prints actions per instance for (a) and (b) and their ratio.
// Targets: (a) <= 1.5 actions per instance, ratio >= 5. --json prints only
// {"correct_per_instance", "scratch_per_instance", "ratio", "scenes", "instances"}.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { WebSocket } from 'ws';
import { createSocketApi } from '../dist/app/ipc/socket-client.js';
import { serveFolder } from '../dist/main/bridge/serve.js';
import { randomScene, seededRandom, writeScene } from '../dist/main/inference/testing.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, scenes: { type: 'string', default: '50' } } });
const SCENES = Number(values.scenes);
const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'bench', 'out', 'labeling');
const scenesDir = join(out, `scenes-${SCENES}-v2`);
const truthFile = join(scenesDir, 'truth.json');
const log = values.json ? () => {} : (line) => console.log(line);

/** A textured backdrop, as the model's training scenes have (tools/model/synth.py): a gradient, stripes, a checker or noise. */
function backdrop(kind, random) {
  const colour = () => `#${[0, 0, 0].map(() => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('')}`;
  const [c0, c1] = [colour(), colour()];
  const period = 8 + Math.round(random() * 24);
  const fill = (defs) => `<defs>${defs}</defs><rect width="100%" height="100%" fill="url(#bg)"/>`;
  switch (kind) {
    case 'gradient': return fill(`<linearGradient id="bg" x1="0" y1="0" x2="${random().toFixed(2)}" y2="1"><stop offset="0" stop-color="${c0}"/><stop offset="1" stop-color="${c1}"/></linearGradient>`);
    case 'stripes': return fill(`<pattern id="bg" width="${period}" height="${period}" patternUnits="userSpaceOnUse" patternTransform="rotate(${Math.round(random() * 180)})"><rect width="${period}" height="${period}" fill="${c0}"/><rect width="${period / 2}" height="${period}" fill="${c1}" opacity="0.5"/></pattern>`);
    case 'checker': return fill(`<pattern id="bg" width="${period * 2}" height="${period * 2}" patternUnits="userSpaceOnUse"><rect width="${period * 2}" height="${period * 2}" fill="${c0}"/><rect width="${period}" height="${period}" fill="${c1}" opacity="0.4"/><rect x="${period}" y="${period}" width="${period}" height="${period}" fill="${c1}" opacity="0.4"/></pattern>`);
    default: return `<defs><filter id="grain"><feTurbulence type="fractalNoise" baseFrequency="${(0.01 + random() * 0.05).toFixed(3)}" numOctaves="3" seed="${Math.round(random() * 100)}"/><feColorMatrix type="saturate" values="0.3"/></filter></defs><rect width="100%" height="100%" fill="${c0}"/><rect width="100%" height="100%" filter="url(#grain)" opacity="0.6"/>`;
  }
}

// 1. The scenes and their truth, generated once (seeded: the same on every machine): 1 to 6 shapes each on a plain,
//    gradient, striped, checked or noisy backdrop.
if (!existsSync(truthFile)) {
  rmSync(scenesDir, { recursive: true, force: true });
  mkdirSync(scenesDir, { recursive: true });
  const random = seededRandom(20261130);
  const truth = [];
  for (let i = 0; i < SCENES; i++) {
    const scene = randomScene(random, 640, 480, 6);
    const path = `scene-${String(i).padStart(2, '0')}.png`;
    const kind = ['plain', 'gradient', 'stripes', 'checker', 'noise'][i % 5];
    const masks = await writeScene(join(scenesDir, path), scene, kind === 'plain' ? undefined : backdrop(kind, random));
    truth.push({ path, instances: scene.shapes.map((shape, k) => ({ className: shape.kind, mask: masks[k] })) });
  }
  writeFileSync(truthFile, JSON.stringify(truth));
}
const truth = new Map(JSON.parse(readFileSync(truthFile, 'utf8')).map((t) => [t.path, t]));
const instances = [...truth.values()].reduce((n, t) => n + t.instances.length, 0);

// 2. The annotator, bundled for Node from its TypeScript (the session and tools are the renderer's own code).
const bundle = join(out, 'annotator.mjs');
await build({
  entryPoints: [join(root, 'bench', 'labeling', 'annotator.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'esm',
  target: 'node20', packages: 'external', logLevel: 'warning',
});
const { ScriptedAnnotator } = await import(bundle);

/** One pass over a fresh copy of the scenes (its own project), through the real bridge. */
async function pass(name, work) {
  const folder = join(out, name);
  rmSync(folder, { recursive: true, force: true });
  cpSync(scenesDir, folder, { recursive: true, filter: (src) => !src.endsWith('truth.json') });
  const serving = await serveFolder(folder, { userModelDir: join(out, 'user-models'), log: () => {} });
  const ws = new WebSocket(`ws://127.0.0.1:${serving.bridge.port}/ipc`, { headers: { cookie: serving.bridge.newSession() } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const api = createSocketApi(ws, serving.bridge.origin);
  const annotator = new ScriptedAnnotator(api, truth);
  const started = performance.now();
  try {
    await work(annotator);
    const result = await annotator.result(api);
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } finally {
    annotator.dispose();
    api.close();
    await serving.close();
  }
}

log(`labeling efficiency: ${SCENES} generated scenes (640x480, 1-6 shapes each on plain and textured backdrops), ${instances} instances; machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const correct = await pass('correct', (a) => a.correct(600_000));
const scratch = await pass('scratch', (a) => a.scratch());

const perInstance = (r) => r.actions / r.instances;
const ratio = perInstance(scratch) / perInstance(correct);
for (const [label, r] of [['(a) correcting the model', correct], ['(b) from scratch', scratch]]) {
  log(`${label}: ${r.actions} actions (${r.tally.keys} keys incl. ${r.tally.typed} typed, ${r.tally.clicks} clicks, ${r.tally.drags} drags) for ${r.instances} instances = ${perInstance(r).toFixed(2)} per instance; against the truth: ${r.instances - r.missed}/${r.instances} matched at IoU >= 0.9 with the right class, ${r.extra} extra; ${r.seconds.toFixed(0)} s`);
  if (Object.keys(r.fixes).length > 0) log(`    ${Object.entries(r.fixes).map(([k, n]) => `${k}: ${n}`).join(', ')}`);
}
log(`(a) ${perInstance(correct).toFixed(2)} actions per instance (target <= 1.5: ${perInstance(correct) <= 1.5 ? 'met' : 'not met'}); ratio (b)/(a) ${ratio.toFixed(2)} (target >= 5: ${ratio >= 5 ? 'met' : 'not met'})`);
if (values.json) {
  console.log(JSON.stringify({
    correct_per_instance: Number(perInstance(correct).toFixed(4)), scratch_per_instance: Number(perInstance(scratch).toFixed(4)),
    ratio: Number(ratio.toFixed(4)), scenes: SCENES, instances,
  }));
}
// A figure for work that did not reach the standard would mean nothing.
if (correct.missed + correct.extra + scratch.missed + scratch.extra > 0) {
  console.error(`loupe bench: the annotations do not match the truth (a: ${correct.missed} missed, ${correct.extra} extra; b: ${scratch.missed} missed, ${scratch.extra} extra)`);
  process.exitCode = 1;
}
