// Generated scenes for box prompts (tests and bench:prompt): each shape's true mask and class, and the box a person
// would draw around it: its true box with every edge off by up to a fraction of the box's size.
import path from 'node:path';
import { toBbox } from '../../app/geometry/rle.js';
import type { Bbox, Rle } from '../../app/model/types.js';
import { randomScene, writeScene, type ShapeKind } from './testing.js';

export interface PromptCase {
  readonly truth: Rle;
  readonly kind: ShapeKind;
  /** The drawn box, [x, y, w, h]. */
  readonly box: Bbox;
}

export interface PromptScene {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly cases: readonly PromptCase[];
}

/** The true box with each edge moved by up to `fraction` of the box's width (left, right) or height (top, bottom). */
export function jitteredBox([x, y, w, h]: Bbox, random: () => number, fraction = 0.1): Bbox {
  const off = (size: number) => (random() * 2 - 1) * fraction * size;
  const x0 = x + off(w);
  const y0 = y + off(h);
  const x1 = x + w + off(w);
  const y1 = y + h + off(h);
  const r = (v: number) => Math.round(v * 100) / 100;
  return [r(x0), r(y0), r(x1 - x0), r(y1 - y0)];
}

/** Writes `count` scenes (PNG, width x height, up to `maxShapes` shapes each) into `dir`, with a jittered box per shape. */
export async function writePromptScenes(
  dir: string,
  random: () => number,
  count: number,
  { width = 640, height = 480, maxShapes = 4, fraction = 0.1 }: { width?: number; height?: number; maxShapes?: number; fraction?: number } = {},
): Promise<PromptScene[]> {
  const scenes: PromptScene[] = [];
  for (let i = 0; i < count; i++) {
    const scene = randomScene(random, width, height, maxShapes);
    const file = path.join(dir, `prompt-${String(i).padStart(3, '0')}.png`);
    const truth = await writeScene(file, scene);
    const cases = truth.map((mask, j) => ({ truth: mask, kind: scene.shapes[j]!.kind, box: jitteredBox(toBbox(mask), random, fraction) }));
    scenes.push({ file, width, height, cases });
  }
  return scenes;
}
