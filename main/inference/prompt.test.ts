// Box prompts on the real shipped split graphs and real images: the split model agrees with the full model it was
// exported from, the feature cache keeps to its memory bound, the worker answers over its protocol, and models
// without split graphs are named with the reason.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou, toBbox } from '../../app/geometry/rle.js';
import { parseModelCard } from '../../app/model/card.js';
import type { Rle } from '../../app/model/types.js';
import { decodeImage } from './decode.js';
import { imageMask, pasteBoxMask, pastedMaskBounds, regionToRle } from './masks.js';
import { loadModel, ModelLoadError, readModelCard } from './model.js';
import { toInputTensor } from './preprocess.js';
import { openProject } from '../store/index.js';
import { scanFolder } from '../fs/index.js';
import { isRunning } from '../testing/processes.test-support.js';
import { servicesOver } from '../testing/services.test-support.js';
import { PromptClient, promptProcessPort } from './prompt-client.js';
import { PromptEngine } from './prompt-engine.js';
import { findSplitCard, SplitModel } from './split-model.js';
import { modelCards, randomScene, repoRoot, seededRandom, writeScene, type SceneImage } from './testing.js';

const models = modelCards();
const splitCard = path.join(repoRoot(), 'resources', 'models', 'loupe-shapes-split.json');
let dir: string;
const scenes: { file: string; scene: SceneImage; truth: Rle[] }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-prompt-'));
  const random = seededRandom(17);
  for (let i = 0; i < 5; i++) {
    const scene = randomScene(random, 640, 480);
    const file = path.join(dir, `scene-${i}.png`);
    scenes.push({ file, scene, truth: await writeScene(file, scene) });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('split graphs', () => {
  it('give the full model\'s masks for the boxes the full model predicts (IoU >= 0.99), in onnxruntime-node', async () => {
    const full = await loadModel(models.maskrcnn, { provider: 'cpu' });
    const split = await SplitModel.load(splitCard, { provider: 'cpu' });
    try {
      const ious: number[] = [];
      for (const { file } of scenes) {
        const decoded = await decodeImage(file, full.card);
        const input = toInputTensor(decoded.rgb, decoded.inputWidth, decoded.inputHeight, full.card);
        const out = await full.session.run({ image: new ort.Tensor('float32', input.data, input.dims) });
        const boxes = out.boxes!.data as Float32Array;
        const labels = out.labels!.data as BigInt64Array;
        const scores = out.scores!.data as Float32Array;
        const masks = out.masks!.data as Float32Array;
        const kept = [...scores.keys()].filter((i) => scores[i]! >= 0.5);
        expect(kept.length).toBeGreaterThan(0);
        const maps = await split.features(input.data, input.dims[1], input.dims[2]);
        const heads = await split.heads(maps, Float32Array.from(kept.flatMap((i) => [...boxes.subarray(i * 4, i * 4 + 4)])));
        const cells = heads.maskSize * heads.maskSize;
        kept.forEach((i, n) => {
          const box = [...boxes.subarray(i * 4, i * 4 + 4)] as [number, number, number, number];
          const plane = decoded.inputWidth * decoded.inputHeight;
          const fullMask = regionToRle(imageMask(masks, i * plane, decoded.inputWidth, decoded.inputHeight, 0.5, decoded.width, decoded.height,
            pastedMaskBounds(box, decoded.inputWidth, decoded.inputHeight)), decoded.width, decoded.height);
          const label = Number(labels[i]);
          const splitMask = regionToRle(pasteBoxMask(heads.masks, (n * heads.classes + label) * cells, heads.maskSize, box, 0.5,
            decoded.width, decoded.height), decoded.width, decoded.height);
          ious.push(iou(fullMask, splitMask));
        });
      }
      expect(ious.length).toBeGreaterThanOrEqual(8);
      expect(Math.min(...ious)).toBeGreaterThanOrEqual(0.99);
    } finally {
      await full.session.release();
      await split.release();
    }
  });

  it('are found for the full model of the same weights, and not for the ONNX Zoo or box-only layouts, which say why', async () => {
    const dirs = [path.dirname(splitCard)];
    const identity = async (card: string) => {
      const { card: parsed } = await readModelCard(card);
      return { name: parsed.name, format: parsed.format, labels: parsed.labels, card: parsed, sha256: parsed.sha256! };
    };
    expect((await findSplitCard(await identity(models.maskrcnn), dirs)).cardPath).toBe(splitCard);
    const zoo = await findSplitCard(await identity(models.zoo), dirs);
    expect(zoo).toMatchObject({ cardPath: null, reason: expect.stringMatching(/^loupe-shapes-zoo \(the ONNX Zoo layout\) has no split graph/) });
    expect(await findSplitCard(await identity(models.boxes), dirs)).toMatchObject({ cardPath: null, reason: expect.stringContaining('(boxes only)') });
    // The same graph sha256 with another class list is not the same model.
    const relabelled = { ...(await identity(models.maskrcnn)), labels: ['__background__', 'a', 'b', 'c', 'd'] };
    expect((await findSplitCard(relabelled, dirs)).cardPath).toBeNull();
  });

  it('refuse a graph whose bytes differ from its card\'s sha256, naming the file', async () => {
    const copy = path.join(dir, 'tampered');
    const card = JSON.parse(await readFile(splitCard, 'utf8')) as { graphs: { roi_heads: { onnx: string } } };
    await mkdir(copy, { recursive: true });
    await copyFile(splitCard, path.join(copy, 'split.json'));
    await copyFile(path.join(path.dirname(splitCard), card.graphs.roi_heads.onnx), path.join(copy, card.graphs.roi_heads.onnx));
    // The backbone's file is the heads' graph: a swapped file.
    await copyFile(path.join(path.dirname(splitCard), card.graphs.roi_heads.onnx), path.join(copy, 'loupe-shapes-split-backbone.onnx'));
    await expect(SplitModel.load(path.join(copy, 'split.json'), { provider: 'cpu' })).rejects.toThrow(ModelLoadError);
    await expect(SplitModel.load(path.join(copy, 'split.json'), { provider: 'cpu' })).rejects.toThrow(/loupe-shapes-split-backbone\.onnx: sha256 [0-9a-f]{64} differs/);
  });

  it('cannot pass for a full model: the model card parser names the format', () => {
    expect(() => parseModelCard({ format: 'torchvision-maskrcnn-split', name: 'x', labels: ['bg', 'a'] }, 'x.json')).toThrow(/x\.json: invalid model card: format/);
  });
});

describe('prompt engine', () => {
  it('keeps feature maps within its memory bound, least recently used out, computing evicted ones again', async () => {
    // Room for two images' maps (6.5 MB each at 640 x 480), not three.
    const engine = await PromptEngine.load({ cardPath: splitCard, provider: 'cpu', cacheBytes: 14 * 1024 * 1024 });
    try {
      const prepare = (i: number) => engine.prepare(`scene-${i}`, scenes[i]!.file);
      const first = await prepare(0);
      expect(first).toMatchObject({ cached: false, cache: { entries: 1, evicted: 0 } });
      expect(first.cache.bytes).toBeGreaterThan(6e6);
      expect(await prepare(1)).toMatchObject({ cached: false, cache: { entries: 2, evicted: 0 } });
      expect(await prepare(0)).toMatchObject({ cached: true, featureMs: 0 }); // scene 0 is now the most recent
      const third = await prepare(2);
      expect(third).toMatchObject({ cached: false, cache: { entries: 2, evicted: 1 } });
      expect(third.cache.bytes).toBeLessThanOrEqual(14 * 1024 * 1024);
      expect(await prepare(0)).toMatchObject({ cached: true }); // scene 1 went, not scene 0
      expect(await prepare(1)).toMatchObject({ cached: false, cache: { entries: 2, evicted: 2 } });
      // A box on an image whose maps were evicted computes them again; on a cached one it does not.
      const [x, y, w, h] = toBbox(scenes[2]!.truth[0]!);
      expect((await engine.segment('scene-2', scenes[2]!.file, [[x, y, w, h]])).featureMs).toBeGreaterThan(0);
      expect((await engine.segment('scene-2', scenes[2]!.file, [[x, y, w, h]])).featureMs).toBe(0);
      expect(engine.cacheStats.bytes).toBeLessThanOrEqual(14 * 1024 * 1024);
    } finally {
      await engine.dispose();
    }
  });

  it('segments the shape in a box a little off, with its class, and answers several boxes at once', async () => {
    const engine = await PromptEngine.load({ cardPath: splitCard, provider: 'cpu' });
    try {
      for (const { file, scene, truth } of scenes.slice(0, 3)) {
        const boxes = truth.map((mask) => {
          const [x, y, w, h] = toBbox(mask);
          return [x - 0.08 * w, y + 0.05 * h, w * 1.1, h * 0.92] as const;
        });
        const answer = await engine.segment(file, file, boxes);
        expect([answer.width, answer.height]).toEqual([scene.width, scene.height]);
        answer.results.forEach((result, i) => {
          expect(result.box).toEqual(boxes[i]);
          expect(result.label).toBe(scene.shapes[i]!.kind);
          expect(iou(result.mask!, truth[i]!)).toBeGreaterThan(0.85);
          expect(result.bbox).toEqual(toBbox(result.mask!));
          expect(result.classes.map((c) => c.label).sort()).toEqual(['circle', 'rectangle', 'star', 'triangle']);
          expect(result.classes[0]).toMatchObject({ label: result.label, score: result.score });
        });
      }
    } finally {
      await engine.dispose();
    }
  });
});

describe('prompt worker', () => {
  it('loads the split model in its own process, answers prepare and segment, and reports a bad file as an image failure', async () => {
    const client = await PromptClient.start({ cardPath: splitCard, provider: 'cpu' });
    try {
      expect(client.model).toMatchObject({ name: 'loupe-shapes-split', labels: ['__background__', 'circle', 'rectangle', 'triangle', 'star'] });
      const { file, truth } = scenes[3]!;
      expect(await client.prepare('a', file)).toMatchObject({ cached: false });
      const answer = await client.segment('a', file, [toBbox(truth[0]!)]);
      expect(answer.featureMs).toBe(0);
      expect(iou(answer.results[0]!.mask!, truth[0]!)).toBeGreaterThan(0.85);
      const broken = path.join(dir, 'broken.png');
      await writeFile(broken, 'not a png at all');
      await expect(client.prepare('broken', broken)).rejects.toMatchObject({ name: 'ImageFailure', kind: 'not-an-image' });
      // Still serving.
      expect(await client.prepare('a', file)).toMatchObject({ cached: true });
    } finally {
      await client.dispose();
    }
  });
});

describe('prompt service', () => {
  it('answers for the project\'s active model, makes its classes only when a box is segmented, and stops its worker with the project', async () => {
    const folder = path.join(dir, 'project');
    await mkdir(folder);
    await copyFile(scenes[4]!.file, path.join(folder, 'a.png'));
    const store = openProject(folder);
    const pids: number[] = [];
    const services = servicesOver(store, {
      models: { shippedDir: path.dirname(splitCard), userDir: path.join(dir, 'no-user-models') },
      prompt: {
        provider: 'cpu',
        workerPort: () => {
          const port = promptProcessPort();
          pids.push(port.pid!);
          return port;
        },
      },
    });
    const service = services.prompt;
    try {
      await scanFolder(store);
      const image = store.images.getByPath('a.png')!;
      const categories = store.categories.list().length;
      const status = await service.status();
      expect(status).toMatchObject({ available: true, reason: null, split: 'loupe-shapes-split' });
      expect(store.models.get(status.modelId!)?.name).toBe('loupe-shapes');
      expect(store.categories.list()).toHaveLength(categories);
      expect(await service.prepare({ imageId: image.id })).toMatchObject({ cached: false });
      expect(await service.prepare({ imageId: image.id })).toMatchObject({ cached: true, featureMs: 0 });
      const answer = await service.segment({ imageId: image.id, boxes: [toBbox(scenes[4]!.truth[0]!)] });
      expect(answer.featureMs).toBe(0);
      expect(store.categories.get(answer.results[0]!.categoryId)?.name).toBe(scenes[4]!.scene.shapes[0]!.kind);
      expect(store.annotations.forImage(image.id)).toEqual([]); // the editor saves what it keeps
      expect(pids).toHaveLength(1);
      expect(isRunning(pids[0]!)).toBe(true);
      await service.close();
      await expect.poll(() => isRunning(pids[0]!)).toBe(false);
      // The next request starts a worker again, with nothing cached.
      expect(await service.prepare({ imageId: image.id })).toMatchObject({ cached: false });
      expect(pids).toHaveLength(2);
      const unknown = await service.status(9999 as never);
      expect(unknown).toMatchObject({ available: false, reason: 'model 9999 does not exist' });
      // Refusals are the domain's: an image the project does not have, and a model without split graphs.
      await expect(service.prepare({ imageId: 9999 as never })).rejects.toMatchObject({ name: 'NotFoundError', message: 'image 9999 does not exist' });
      const zoo = store.models.list().find((m) => m.name === 'loupe-shapes-zoo')!;
      await expect(service.segment({ imageId: image.id, boxes: [[1, 1, 4, 4]], modelId: zoo.id })).rejects.toMatchObject({ name: 'ConflictError' });
      // A file the worker cannot decode is named in the failure.
      await writeFile(path.join(folder, 'a.png'), 'not a png at all');
      store.db.prepare('UPDATE images SET hash = ? WHERE id = ?').run('changed', image.id);
      await expect(service.prepare({ imageId: image.id })).rejects.toThrow(/^a\.png: /);
      // Closing the project stops the worker.
      const running = pids.at(-1)!;
      expect(isRunning(running)).toBe(true);
      await services.project.close();
      await expect.poll(() => isRunning(running)).toBe(false);
    } finally {
      await services.close();
    }
  });
});
