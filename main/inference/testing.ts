// Test and benchmark images with known shapes, drawn by sharp from SVG, and their true masks as COCO RLE.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { encode } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/types.js';

export const SHAPE_KINDS = ['circle', 'rectangle', 'triangle', 'star'] as const;
export type ShapeKind = (typeof SHAPE_KINDS)[number];

export interface Shape {
  kind: ShapeKind;
  cx: number;
  cy: number;
  /** Across, in pixels. */
  size: number;
  /** Degrees. */
  rotation: number;
  color: string;
}

export interface SceneImage {
  width: number;
  height: number;
  shapes: Shape[];
  background: string;
}

/** The repository root, from this module's place in main/inference (source) or dist/main/inference (built). */
export function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? ['..', '..', '..'] : ['..', '..'];
  return path.resolve(here, ...up);
}

/** The shipped default model's card. */
export function defaultCardPath(): string {
  return path.join(repoRoot(), 'resources', 'models', 'loupe-shapes.json');
}

/**
 * Cards of the same weights in the three layouts tools/model exports: the shipped model by default;
 * LOUPE_TEST_MODELS=<dir>/<name> points tests at another export (e.g. tools/model/runs/smoke/smoke).
 */
export function modelCards(): { maskrcnn: string; boxes: string; zoo: string } {
  const base = process.env.LOUPE_TEST_MODELS ?? path.join(repoRoot(), 'resources', 'models', 'loupe-shapes');
  return { maskrcnn: `${base}.json`, boxes: `${base}-boxes.json`, zoo: `${base}-zoo.json` };
}

function shapeSvg(shape: Shape, fill: string): string {
  const r = shape.size / 2;
  const transform = `rotate(${shape.rotation} ${shape.cx} ${shape.cy})`;
  switch (shape.kind) {
    case 'circle':
      return `<circle cx="${shape.cx}" cy="${shape.cy}" r="${r}" fill="${fill}"/>`;
    case 'rectangle':
      return `<rect x="${shape.cx - r}" y="${shape.cy - r * 0.7}" width="${2 * r}" height="${1.4 * r}" fill="${fill}" transform="${transform}"/>`;
    case 'triangle': {
      const points = [0, 1, 2].map((i) => {
        const angle = -Math.PI / 2 + (i * 2 * Math.PI) / 3;
        return `${shape.cx + r * Math.cos(angle)},${shape.cy + r * Math.sin(angle)}`;
      });
      return `<polygon points="${points.join(' ')}" fill="${fill}" transform="${transform}"/>`;
    }
    case 'star': {
      const points = [...Array(10).keys()].map((i) => {
        const angle = -Math.PI / 2 + (i * Math.PI) / 5;
        const radius = i % 2 === 0 ? r : r * 0.45;
        return `${shape.cx + radius * Math.cos(angle)},${shape.cy + radius * Math.sin(angle)}`;
      });
      return `<polygon points="${points.join(' ')}" fill="${fill}" transform="${transform}"/>`;
    }
  }
}

function svg(width: number, height: number, body: string): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`);
}

/**
 * The scene drawn, as a sharp pipeline to encode in any format. `backdrop`, SVG drawn first in place of the plain
 * background (a texture), leaves the masks as they are.
 */
export function sceneImage(scene: SceneImage, backdrop?: string): Sharp {
  const body = (backdrop ?? `<rect width="100%" height="100%" fill="${scene.background}"/>`) + scene.shapes.map((s) => shapeSvg(s, s.color)).join('');
  return sharp(svg(scene.width, scene.height, body));
}

/** Writes the scene as an image file (format from the extension) and returns each shape's true mask. */
export async function writeScene(file: string, scene: SceneImage, backdrop?: string): Promise<Rle[]> {
  await sceneImage(scene, backdrop).toFile(file);
  return sceneMasks(scene);
}

/** True masks, later shapes occluding earlier ones, as COCO RLE at the scene's size. */
export async function sceneMasks(scene: SceneImage): Promise<Rle[]> {
  const masks: Rle[] = [];
  for (let i = 0; i < scene.shapes.length; i++) {
    const body = scene.shapes.map((s, j) => (j < i ? '' : shapeSvg(s, j === i ? '#fff' : '#000'))).join('');
    const { data } = await sharp(svg(scene.width, scene.height, `<rect width="100%" height="100%" fill="#000"/>${body}`))
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const bits = new Uint8Array(scene.width * scene.height);
    for (let p = 0; p < bits.length; p++) bits[p] = data[p]! >= 128 ? 1 : 0;
    masks.push(encode({ width: scene.width, height: scene.height, data: bits }));
  }
  return masks;
}

/** A seeded random number generator (mulberry32), so generated scenes are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];

/** A scene of 1 to `maxShapes` well-separated shapes on a plain background. */
export function randomScene(random: () => number, width: number, height: number, maxShapes = 4): SceneImage {
  const shapes: Shape[] = [];
  const count = 1 + Math.floor(random() * maxShapes);
  for (let attempt = 0; shapes.length < count && attempt < 200; attempt++) {
    const size = 40 + random() * 70;
    const cx = size / 2 + 4 + random() * (width - size - 8);
    const cy = size / 2 + 4 + random() * (height - size - 8);
    if (shapes.some((s) => Math.hypot(s.cx - cx, s.cy - cy) < (s.size + size) / 2 + 6)) continue;
    shapes.push({
      kind: SHAPE_KINDS[Math.floor(random() * SHAPE_KINDS.length)]!,
      cx,
      cy,
      size,
      rotation: random() * 360,
      color: PALETTE[Math.floor(random() * PALETTE.length)]!,
    });
  }
  const grey = Math.floor(20 + random() * 60).toString(16).padStart(2, '0');
  return { width, height, shapes, background: `#${grey}${grey}${grey}` };
}
