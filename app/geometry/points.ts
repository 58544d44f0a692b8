// Points in the editor's two coordinate spaces, branded so that one can never be passed where the other is
// meant: image pixels (what annotations are in) and screen pixels (the canvas element, what the pointer gives).
import type { Brand } from '../model/ids.js';

interface XY {
  readonly x: number;
  readonly y: number;
}

/** Image pixels: continuous coordinates, (0, 0) the image's top-left corner, pixel (i, j) spanning [i, i+1) x [j, j+1). */
export type ImagePoint = Brand<XY, 'ImagePoint'>;
/** Screen pixels: CSS pixels from the top-left corner of the canvas element. */
export type ScreenPoint = Brand<XY, 'ScreenPoint'>;

export const imagePoint = (x: number, y: number): ImagePoint => ({ x, y }) as ImagePoint;
export const screenPoint = (x: number, y: number): ScreenPoint => ({ x, y }) as ScreenPoint;

/** Euclidean distance between two points of the same space. */
export function distance(a: ImagePoint, b: ImagePoint): number;
export function distance(a: ScreenPoint, b: ScreenPoint): number;
export function distance(a: XY, b: XY): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}
