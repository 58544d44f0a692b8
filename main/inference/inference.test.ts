// The inference worker on the real exported models (three layouts of the same weights) and real images.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou, toBbox } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/types.js';
import { InferenceClient } from './client.js';
import { loadModel, readModelCard } from './model.js';
import type { ImagePrediction } from './pipeline.js';
import { createSession } from './providers.js';
import { modelCards, randomScene, seededRandom, writeScene, type SceneImage } from './testing.js';

const models = modelCards();
const onnxOf = (card: string) => card.replace(/\.json$/, '.onnx');
let dir: string;
const clients: InferenceClient[] = [];

async function start(cardPath: string, scoreThreshold?: number): Promise<InferenceClient> {
  const client = await InferenceClient.start({ cardPath, provider: 'cpu', ...(scoreThreshold !== undefined ? { scoreThreshold } : {}) });
  clients.push(client);
  return client;
}

async function predict(client: InferenceClient, file: string): Promise<ImagePrediction> {
  const outcome = await client.predict(file);
  if (!outcome.ok) throw new Error(`${file}: ${'message' in outcome ? outcome.message : 'cancelled'}`);
  return outcome.prediction;
}

/** Best IoU of each true mask with any predicted mask. */
function bestIous(truth: readonly Rle[], predicted: readonly Rle[]): number[] {
  return truth.map((t) => Math.max(0, ...predicted.map((p) => iou(t, p))));
}

/** Share of the scene's shapes found: a detection of the right class whose mask has IoU >= 0.5 with the shape's. */
function recall(scene: SceneImage, truth: readonly Rle[], prediction: ImagePrediction): { found: number; total: number } {
  const found = truth.filter((mask, i) =>
    prediction.detections.some((d) => d.label === scene.shapes[i]!.kind && iou(mask, d.mask!) >= 0.5),
  ).length;
  return { found, total: truth.length };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-inference-'));
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await rm(dir, { recursive: true, force: true });
});

describe('torchvision-maskrcnn layout', () => {
  let client: InferenceClient;
  const scenes: { file: string; scene: SceneImage; truth: Rle[] }[] = [];

  beforeAll(async () => {
    client = await start(models.maskrcnn);
    const random = seededRandom(7);
    for (let i = 0; i < 6; i++) {
      const scene = randomScene(random, 480 + i * 16, 360);
      const file = path.join(dir, `scene-${i}.png`);
      scenes.push({ file, scene, truth: await writeScene(file, scene) });
    }
  });

  it('reports the card, the provider it runs on and the thresholds in use', () => {
    expect(client.model.card.format).toBe('torchvision-maskrcnn');
    expect(client.model.provider).toEqual({ requested: 'cpu', provider: 'cpu', fallback: null });
    expect(client.model.thresholds.score).toBe(client.model.card.thresholds.score);
  });

  it('returns full-resolution RLE masks whose bbox is the mask bbox, above the threshold, best first', async () => {
    const low = await start(models.maskrcnn, 0.05);
    const { file, scene } = scenes[0]!;
    const prediction = await predict(low, file);
    expect([prediction.width, prediction.height]).toEqual([scene.width, scene.height]);
    expect(prediction.detections.length).toBeGreaterThan(0);
    const scores = prediction.detections.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const detection of prediction.detections) {
      expect(detection.score).toBeGreaterThanOrEqual(0.05);
      expect(detection.labelIndex).toBeGreaterThan(0);
      expect(detection.label).toBe(low.model.card.labels[detection.labelIndex]);
      expect(detection.mask!.size).toEqual([scene.height, scene.width]);
      expect(detection.bbox).toEqual(toBbox(detection.mask!));
      expect(detection.bbox[2] * detection.bbox[3]).toBeGreaterThan(0);
    }
  });

  it('finds most generated shapes, with the right class, at mask IoU >= 0.5', async () => {
    let found = 0;
    let total = 0;
    for (const { file, scene, truth } of scenes) {
      const counts = recall(scene, truth, await predict(client, file));
      found += counts.found;
      total += counts.total;
    }
    expect(total).toBeGreaterThanOrEqual(10);
    expect(found / total).toBeGreaterThanOrEqual(0.8);
  });

  it('downscales an image larger than the model input and maps masks back to full resolution', async () => {
    const { scene } = scenes[1]!;
    const big: SceneImage = {
      ...scene,
      width: scene.width * 3,
      height: scene.height * 3,
      shapes: scene.shapes.map((s) => ({ ...s, cx: s.cx * 3, cy: s.cy * 3, size: s.size * 3 })),
    };
    const file = path.join(dir, 'big.png');
    const truth = await writeScene(file, big);
    const prediction = await predict(client, file);
    expect([prediction.width, prediction.height]).toEqual([big.width, big.height]);
    for (const detection of prediction.detections) expect(detection.mask!.size).toEqual([big.height, big.width]);
    // The class is the first test's business; here every shape must be covered by a mask mapped back in place.
    const ious = bestIous(truth, prediction.detections.map((d) => d.mask!));
    expect(Math.min(...ious)).toBeGreaterThanOrEqual(0.5);
  });

  it('applies EXIF orientation: a rotated JPEG gives the masks of the upright scene', async () => {
    const { file, scene } = scenes[2]!;
    // Store the pixels turned 90 degrees anticlockwise with orientation 6 (display: turn clockwise).
    const rotatedFile = path.join(dir, 'exif-6.jpg');
    const stored = await sharp(file).rotate(-90).raw().toBuffer({ resolveWithObject: true });
    await sharp(stored.data, { raw: stored.info }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(rotatedFile);
    const upright = await predict(client, file);
    const rotated = await predict(client, rotatedFile);
    expect([rotated.width, rotated.height]).toEqual([scene.width, scene.height]);
    expect(rotated.detections.length).toBeGreaterThan(0);
    const ious = bestIous(
      upright.detections.map((d) => d.mask!),
      rotated.detections.map((d) => d.mask!),
    );
    expect(Math.min(...ious)).toBeGreaterThan(0.8);
  });

  it('reports a per-image failure with its reason and keeps serving', async () => {
    const empty = path.join(dir, 'empty.jpg');
    const text = path.join(dir, 'notes.png');
    const truncated = path.join(dir, 'truncated.png');
    await writeFile(empty, '');
    await writeFile(text, 'not an image at all');
    const png = await readFile(scenes[0]!.file);
    await writeFile(truncated, png.subarray(0, Math.floor(png.length / 2)));
    expect(await client.predict(empty)).toEqual({ ok: false, kind: 'empty', message: 'empty file (0 bytes)' });
    expect(await client.predict(text)).toMatchObject({ ok: false, kind: 'not-an-image' });
    expect(await client.predict(truncated)).toMatchObject({ ok: false, kind: 'decode', message: expect.stringMatching(/^cannot decode: /) });
    expect((await client.predict(scenes[0]!.file)).ok).toBe(true);
  });

  it('decodes greyscale, alpha, 16-bit and CMYK images as RGB', async () => {
    const source = scenes[3]!.file;
    const variants: [string, (image: Sharp) => Sharp][] = [
      ['grey.png', (image) => image.greyscale()],
      ['alpha.png', (image) => image.ensureAlpha(0.5)],
      ['deep.png', (image) => image.toColourspace('rgb16')],
      ['cmyk.jpg', (image) => image.toColourspace('cmyk').jpeg()],
    ];
    for (const [name, convert] of variants) {
      const file = path.join(dir, name);
      await convert(sharp(source)).toFile(file);
      const outcome = await client.predict(file);
      expect(outcome.ok, `${name}: ${'message' in outcome ? outcome.message : ''}`).toBe(true);
      if (outcome.ok) expect([outcome.prediction.width, outcome.prediction.height]).toEqual([scenes[3]!.scene.width, 360]);
    }
  });

  it('refuses an image over the pixel limit before decoding it', async () => {
    const limited = await InferenceClient.start({ cardPath: models.maskrcnn, provider: 'cpu', maxInputPixels: 100_000 });
    clients.push(limited);
    const outcome = await limited.predict(scenes[0]!.file);
    expect(outcome).toMatchObject({ ok: false, kind: 'too-large' });
    expect('message' in outcome && outcome.message).toMatch(/image too large: \d+ x 360 = \d+ pixels exceeds the limit of 100000/);
  });
});

describe('the same weights in the other layouts', () => {
  let file: string;
  let reference: ImagePrediction;

  beforeAll(async () => {
    // An image of exactly the model's input size (maxSize x minSize), so every layout sees the same pixels.
    const { input } = (await readModelCard(models.maskrcnn)).card;
    file = path.join(dir, 'layouts.png');
    await writeScene(file, randomScene(seededRandom(11), input.maxSize, input.minSize, 5));
    reference = await predict(await start(models.maskrcnn, 0.05), file);
  });

  it('onnx-zoo-maskrcnn: per-box 28x28 masks pasted by us agree with the masks torchvision pasted in-graph', async () => {
    const zoo = await predict(await start(models.zoo, 0.05), file);
    expect(reference.detections.length).toBeGreaterThan(0);
    expect(zoo.detections.length).toBe(reference.detections.length);
    const ious = reference.detections.map((expected) => {
      const twins = zoo.detections.filter((d) => d.label === expected.label && Math.abs(d.score - expected.score) < 0.01);
      return Math.max(0, ...twins.map((twin) => iou(twin.mask!, expected.mask!)));
    });
    ious.sort((a, b) => a - b);
    expect(ious[Math.floor(ious.length / 2)]).toBeGreaterThan(0.97);
    expect(ious[0]).toBeGreaterThan(0.9);
  });

  it('torchvision-fasterrcnn: boxes only, the same detections as the mask model', async () => {
    const boxes = await predict(await start(models.boxes, 0.05), file);
    expect(boxes.detections.length).toBe(reference.detections.length);
    for (const detection of boxes.detections) expect(detection.mask).toBeNull();
    const byScore = (list: ImagePrediction['detections']) => list.map((d) => `${d.label} ${d.score.toFixed(3)}`).sort();
    expect(byScore(boxes.detections)).toEqual(byScore(reference.detections));
  });
});

describe('session memory settings', () => {
  it("predict exactly what onnxruntime's defaults predict, on images of mixed sizes and formats", async () => {
    // Sizes met twice too: a session with memory patterns runs a size it has seen from the plan it kept for it.
    const images: [number, number, string][] = [
      [300, 260, 'png'],
      [1000, 700, 'jpg'],
      [480, 900, 'webp'],
      [256, 1024, 'png'],
      [777, 555, 'webp'],
      [300, 260, 'jpg'],
      [1000, 700, 'png'],
    ];
    const random = seededRandom(23);
    const files: string[] = [];
    for (const [i, [width, height, format]] of images.entries()) {
      const file = path.join(dir, `memory-${i}.${format}`);
      await writeScene(file, randomScene(random, width, height, 5));
      files.push(file);
    }
    const shipped = await InferenceClient.start({ cardPath: models.maskrcnn, provider: 'cpu', scoreThreshold: 0.05 });
    const defaults = await InferenceClient.start({ cardPath: models.maskrcnn, provider: 'cpu', scoreThreshold: 0.05, memoryPattern: true });
    clients.push(shipped, defaults);
    let detections = 0;
    for (const file of files) {
      const expected = await predict(defaults, file);
      const actual = await predict(shipped, file);
      expect(actual.detections, file).toEqual(expected.detections);
      detections += expected.detections.length;
    }
    expect(detections).toBeGreaterThanOrEqual(images.length);
  });
});

describe('model loading', () => {
  async function cardVariant(name: string, change: (card: Record<string, unknown>) => Record<string, unknown>, from = models.maskrcnn) {
    const card = JSON.parse(await readFile(from, 'utf8')) as Record<string, unknown>;
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify({ ...change(card), onnx: onnxOf(from) }));
    return file;
  }

  it('refuses a card whose outputs are not in the graph, naming the mismatch', async () => {
    const card = await cardVariant('wrong-outputs', (c) => ({
      ...c,
      sha256: undefined,
      outputs: { boxes: 'boxes', labels: 'labels', scores: 'scores', masks: 'segmentation' },
    }));
    await expect(InferenceClient.start({ cardPath: card, provider: 'cpu' })).rejects.toThrow(
      /does not match its card .*wrong-outputs\.json: output 'segmentation' named by the card is not in the graph \(graph outputs: boxes, labels, scores, masks\)/,
    );
  });

  it('refuses a box-only card on a graph that also outputs masks', async () => {
    const card = await cardVariant('boxes-on-masks', (c) => ({
      ...c,
      sha256: undefined,
      format: 'torchvision-fasterrcnn',
      outputs: { boxes: 'boxes', labels: 'labels', scores: 'scores' },
    }));
    await expect(loadModel(card, { provider: 'cpu' })).rejects.toThrow(/box-only but the graph also outputs masks/);
  });

  it('refuses a zoo card on a graph whose masks are not per-box', async () => {
    const card = path.join(dir, 'zoo-on-boxes.json');
    const zooCard = JSON.parse(await readFile(models.zoo, 'utf8')) as Record<string, unknown>;
    await writeFile(card, JSON.stringify({ ...zooCard, sha256: undefined, onnx: onnxOf(models.boxes) }));
    await expect(loadModel(card, { provider: 'cpu' })).rejects.toThrow(/output 'masks' named by the card is not in the graph/);
  });

  it('refuses a model file whose sha256 differs from its card', async () => {
    const card = await cardVariant('bad-sha', (c) => ({ ...c, sha256: '0'.repeat(64) }));
    await expect(loadModel(card, { provider: 'cpu' })).rejects.toThrow(/sha256 [0-9a-f]{64} differs from 0{64} in its card/);
  });

  it('refuses an invalid card with the file and the field', async () => {
    const card = await cardVariant('no-labels', (c) => ({ ...c, labels: ['__background__'] }));
    await expect(loadModel(card, { provider: 'cpu' })).rejects.toThrow(/no-labels\.json: invalid model card: labels: needs the background/);
  });
});

describe('execution providers', () => {
  it("'auto' on Linux without CUDA libraries falls back to CPU and says why", async () => {
    const { session, report } = await createSession(onnxOf(models.maskrcnn), { provider: 'auto' });
    await session.release();
    expect(report.provider).toBe('cpu');
    expect(report.fallback).toMatch(/^CUDA provider unavailable: .+; using CPU$/);
  });

  it("forcing 'cuda' where it cannot start fails, listing what is supported", async () => {
    await expect(InferenceClient.start({ cardPath: models.maskrcnn, provider: 'cuda' })).rejects.toThrow(
      /CUDA provider \('cuda'\) could not start: .*supported on linux: auto, cuda, cpu/,
    );
  });

  it("forcing a provider of another platform fails, listing this platform's", async () => {
    await expect(InferenceClient.start({ cardPath: models.maskrcnn, provider: 'dml' })).rejects.toThrow(
      "DirectML provider ('dml') is not available on linux; supported here: auto, cuda, cpu",
    );
  });

  it("'auto' maps to the platform's accelerator first (DirectML on Windows), then CPU", async () => {
    const onnx = onnxOf(models.maskrcnn);
    const { session, report } = await createSession(onnx, { provider: 'auto' }, 'win32');
    await session.release();
    expect(report).toMatchObject({ provider: 'cpu', fallback: expect.stringMatching(/^DirectML provider unavailable: .+; using CPU$/) });
  });
});
