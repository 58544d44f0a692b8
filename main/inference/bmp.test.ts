// Every BMP variant pre-labels with the real model, exactly as the same pixels saved as PNG do.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/types.js';
import { decodeBmp } from '../fs/bmp.js';
import { BMP_VARIANTS, writeBmp, type BmpVariant, type Pixels } from '../fs/bmp.test-support.js';
import { InferenceClient } from './client.js';
import type { ImagePrediction } from './pipeline.js';
import { modelCards, randomScene, seededRandom, writeScene } from './testing.js';

let dir: string;
let client: InferenceClient;
let scene: Pixels;
let truth: Rle[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-bmp-prelabel-'));
  client = await InferenceClient.start({ cardPath: modelCards().maskrcnn, provider: 'cpu' });
  const file = path.join(dir, 'scene.png');
  truth = await writeScene(file, randomScene(seededRandom(11), 320, 240, 3));
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  scene = { width: info.width, height: info.height, data, channels: 3 };
});

afterAll(async () => {
  await client?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function predict(file: string): Promise<ImagePrediction> {
  const outcome = await client.predict(file);
  if (!outcome.ok) throw new Error(`${file}: ${'message' in outcome ? outcome.message : 'cancelled'}`);
  return outcome.prediction;
}

/** The scene as the variant can hold it: quantised to its palette size, with an alpha channel where it has one. */
async function sceneFor(variant: BmpVariant): Promise<Pixels> {
  let pixels = scene;
  if (variant.bits <= 8) {
    const colours = Math.min(1 << variant.bits, 256);
    const png = await sharp(scene.data, { raw: { width: scene.width, height: scene.height, channels: 3 } })
      .png({ palette: true, colours, dither: 0 })
      .toBuffer();
    pixels = { ...scene, data: await sharp(png).removeAlpha().raw().toBuffer() };
  }
  if (variant.masks?.[3]) {
    const rgba = new Uint8Array(scene.width * scene.height * 4);
    for (let i = 0; i < scene.width * scene.height; i++) rgba.set([...pixels.data.subarray(i * 3, i * 3 + 3), 200], i * 4);
    pixels = { ...pixels, data: rgba, channels: 4 };
  }
  return pixels;
}

describe('pre-labeling BMP files', () => {
  it('finds the shapes of the 24-bit scene', async () => {
    const file = path.join(dir, '24.bmp');
    await writeFile(file, writeBmp(scene, BMP_VARIANTS.find((v) => v.name === '24-bit')!));
    const masks = (await predict(file)).detections.map((d) => d.mask!);
    for (const shape of truth) expect(Math.max(...masks.map((m) => iou(shape, m)))).toBeGreaterThan(0.7);
  });

  it.each(BMP_VARIANTS)('$name: the same detections as its decoded pixels saved as PNG', async (variant) => {
    const bmpFile = path.join(dir, `${variant.name}.bmp`);
    const bytes = writeBmp(await sceneFor(variant), variant);
    await writeFile(bmpFile, bytes);
    const decoded = decodeBmp(bytes);
    const pngFile = path.join(dir, `${variant.name}.png`);
    await sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: decoded.channels } }).png().toFile(pngFile);

    const fromBmp = await predict(bmpFile);
    const fromPng = await predict(pngFile);
    expect([fromBmp.width, fromBmp.height]).toEqual([scene.width, scene.height]);
    const strip = (p: ImagePrediction) => p.detections.map(({ label, score, bbox, mask }) => ({ label, score, bbox, mask }));
    expect(strip(fromBmp)).toEqual(strip(fromPng));
  });
});
