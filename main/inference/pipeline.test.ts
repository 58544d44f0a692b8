// The pipeline in this process on the real shipped model and real images: onnxruntime's memory patterns, which
// change where tensors live and never what they hold.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from './model.js';
import { InferencePipeline } from './pipeline.js';
import type { MemoryPatterns } from './providers.js';
import { modelCards, randomScene, seededRandom, writeScene } from './testing.js';

const cardPath = modelCards().maskrcnn;
let dir: string;
const pipelines: InferencePipeline[] = [];

async function open(memoryPatterns: MemoryPatterns, shapesWithMemoryPatterns?: number): Promise<InferencePipeline> {
  const model = await loadModel(cardPath, { provider: 'cpu', intraOpThreads: 1, memoryPatterns });
  const pipeline = new InferencePipeline(model, { scoreThreshold: 0.05, ...(shapesWithMemoryPatterns ? { shapesWithMemoryPatterns } : {}) });
  pipelines.push(pipeline);
  return pipeline;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-pipeline-'));
});

afterAll(async () => {
  await Promise.all(pipelines.map((pipeline) => pipeline.dispose()));
  await rm(dir, { recursive: true, force: true });
});

describe('memory patterns', () => {
  it("'auto' keeps them for a few input shapes, then drops them; every setting predicts exactly the same", async () => {
    // Sizes and formats mixed as in a real folder, some met again (a session with patterns then runs from the plan
    // it kept). Model inputs: 300 x 260 as it is, 1000 x 700 -> 640 x 448, 480 x 900 -> 341 x 640, 256 x 1024 ->
    // 160 x 640 (the fourth shape, one more than 'auto' is allowed here), 777 x 555 -> 640 x 457.
    const images: [number, number, string][] = [
      [300, 260, 'png'],
      [1000, 700, 'jpg'],
      [300, 260, 'webp'],
      [480, 900, 'webp'],
      [256, 1024, 'png'],
      [1000, 700, 'png'],
      [777, 555, 'jpg'],
      [300, 260, 'jpg'],
    ];
    const random = seededRandom(23);
    const files: string[] = [];
    for (const [i, [width, height, format]] of images.entries()) {
      const file = path.join(dir, `scene-${i}.${format}`);
      await writeScene(file, randomScene(random, width, height, 5));
      files.push(file);
    }
    const auto = await open('auto', 3);
    const on = await open('on', 3);
    const off = await open('off');
    const autoSettings: MemoryPatterns[] = [];
    let detections = 0;
    for (const file of files) {
      const expected = await on.predict(file);
      expect((await auto.predict(file)).detections, file).toEqual(expected.detections);
      expect((await off.predict(file)).detections, file).toEqual(expected.detections);
      autoSettings.push(auto.memoryPatterns);
      detections += expected.detections.length;
    }
    expect(detections).toBeGreaterThanOrEqual(images.length);
    // The fifth image brings the fourth shape: its run is the first without patterns.
    expect(autoSettings).toEqual(['auto', 'auto', 'auto', 'auto', 'off', 'off', 'off', 'off']);
    expect(on.memoryPatterns).toBe('on');
    expect(off.memoryPatterns).toBe('off');
  });
});
