// `loupe segment` as a user runs it: a separate process, the shipped split graphs, generated scenes with their true
// masks, boxes drawn a little off (every edge by up to 10% of the box's size).
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou, toBbox } from '../../../app/geometry/rle.js';
import type { Rle } from '../../../app/model/types.js';
import { writePromptScenes, type PromptScene } from '../../inference/prompt-scenes.js';
import { modelCards, seededRandom } from '../../inference/testing.js';
import { runLoupe } from '../cli.test-support.js';

interface SegmentJson {
  image: string;
  results: { box: number[]; category: string; score: number; segmentation: Rle }[];
  feature_ms: number;
  per_box_ms: number[];
}

let folder: string;
let scenes: PromptScene[];

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-segment-'));
  scenes = await writePromptScenes(folder, seededRandom(23), 8, { maxShapes: 6 });
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('loupe segment', () => {
  it('segments boxes drawn around generated shapes: median mask IoU >= 0.9 and the right class for >= 90%', async () => {
    const ious: number[] = [];
    let right = 0;
    for (const scene of scenes) {
      const boxes = path.join(folder, `${path.basename(scene.file)}.boxes.json`);
      await writeFile(boxes, JSON.stringify({ boxes: scene.cases.map((c) => c.box) }));
      const run = runLoupe(['segment', folder, path.basename(scene.file), '--boxes', boxes, '--json']);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const out = JSON.parse(run.stdout) as SegmentJson;
      expect(Object.keys(out)).toEqual(['image', 'results', 'feature_ms', 'per_box_ms']);
      expect(out.image).toBe(path.basename(scene.file));
      expect(out.feature_ms).toBeGreaterThan(0);
      expect(out.per_box_ms).toHaveLength(scene.cases.length);
      out.results.forEach((result, i) => {
        expect(Object.keys(result)).toEqual(['box', 'category', 'score', 'segmentation']);
        expect(result.box).toEqual(scene.cases[i]!.box);
        expect(result.segmentation.size).toEqual([scene.height, scene.width]);
        ious.push(iou(result.segmentation, scene.cases[i]!.truth));
        if (result.category === scene.cases[i]!.kind) right++;
      });
    }
    expect(ious.length).toBeGreaterThanOrEqual(15);
    expect(median(ious)).toBeGreaterThanOrEqual(0.9);
    expect(right / ious.length).toBeGreaterThanOrEqual(0.9);
    // Read-only: no project was made in the folder.
    expect(existsSync(path.join(folder, '.loupe'))).toBe(false);
  });

  it('prints each box\'s class, score, bbox from the mask and RLE, then the per-box times', () => {
    const scene = scenes[0]!;
    const { box, truth } = scene.cases[0]!;
    const run = runLoupe(['segment', folder, path.basename(scene.file), '--box', box.join(','), '--box', box.map((v) => v + 1).join(',')]);
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${path.basename(scene.file)}: 640 x 480, loupe-shapes-split, feature maps [0-9.]+ ms$`));
    expect(lines[1]).toMatch(new RegExp(`^box ${box.join(',')}: ${scene.cases[0]!.kind} [0-9.]{5}, bbox [0-9.,]+ \\([0-9.]+ ms\\)$`));
    const bbox = lines[1]!.match(/bbox ([0-9.,]+)/)![1]!.split(',').map(Number);
    const [tx, ty, tw, th] = toBbox(truth);
    expect(Math.abs(bbox[0]! - tx) + Math.abs(bbox[1]! - ty) + Math.abs(bbox[2]! - tw) + Math.abs(bbox[3]! - th)).toBeLessThan(0.25 * (tw + th));
    expect(lines[2]).toMatch(/^ {2}rle \S+$/);
    expect(lines.at(-1)).toMatch(/^per box: p50 [0-9.]+ ms, p95 [0-9.]+ ms over 2 boxes$/);
  });

  it('refuses bad boxes (exit 1), and names a missing image or a model without split graphs (exit 2)', async () => {
    const image = path.basename(scenes[0]!.file);
    const noBox = runLoupe(['segment', folder, image]);
    expect(noBox.status).toBe(1);
    expect(noBox.stderr).toContain('give at least one box');
    const bad = runLoupe(['segment', folder, image, '--box', '1,2,0,4']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--box takes x,y,w,h (numbers, width and height above 0), got '1,2,0,4'");
    const missing = runLoupe(['segment', folder, 'nothing.png', '--box', '1,2,3,4']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`loupe: nothing.png: no such image in ${folder}\n`);
    const boxesFile = path.join(folder, 'bad-boxes.json');
    await writeFile(boxesFile, JSON.stringify([[1, 2, 3]]));
    const badFile = runLoupe(['segment', folder, image, '--boxes', boxesFile]);
    expect(badFile.status).toBe(2);
    expect(badFile.stderr).toBe(`loupe: ${boxesFile}: box 1 is not [x, y, w, h] with a positive width and height: [1,2,3]\n`);
    const zoo = runLoupe(['segment', folder, image, '--box', '1,2,3,4', '--model', modelCards().zoo]);
    expect(zoo.status).toBe(2);
    expect(zoo.stderr).toMatch(/^loupe: .*loupe-shapes-zoo\.json: loupe-shapes-zoo \(the ONNX Zoo layout\) has no split graph: /);
  });
});
