// The view onto the image: where it sits on the canvas and how large. Pure math; the session owns the
// camera and the canvas only draws it.
import { imagePoint, screenPoint, type ImagePoint, type ScreenPoint } from '../../app/geometry/points.js';
import type { Bbox } from '../../app/model/index.js';

/** screen = image * scale + (x, y). */
export interface Camera {
  readonly x: number;
  readonly y: number;
  readonly scale: number;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 40;

export const IDENTITY: Camera = { x: 0, y: 0, scale: 1 };

export function toImage(camera: Camera, p: ScreenPoint): ImagePoint {
  return imagePoint((p.x - camera.x) / camera.scale, (p.y - camera.y) / camera.scale);
}

export function toScreen(camera: Camera, p: ImagePoint): ScreenPoint {
  return screenPoint(p.x * camera.scale + camera.x, p.y * camera.scale + camera.y);
}

/** The whole image, centred, with a small margin. */
export function fitCamera(image: Size, viewport: Size): Camera {
  // An image of no known size (a file that could not be read): nothing to fit.
  if (image.width <= 0 || image.height <= 0) return IDENTITY;
  const scale = clampScale(Math.min(viewport.width / Math.max(1, image.width), viewport.height / Math.max(1, image.height)) * 0.98);
  return { scale, x: (viewport.width - image.width * scale) / 2, y: (viewport.height - image.height * scale) / 2 };
}

/** Zooms by `factor`, keeping the image point under `around` where it is on screen. */
export function zoomCamera(camera: Camera, factor: number, around: ScreenPoint): Camera {
  const anchor = toImage(camera, around);
  const scale = clampScale(camera.scale * factor);
  return { scale, x: around.x - anchor.x * scale, y: around.y - anchor.y * scale };
}

export function panCamera(camera: Camera, dx: number, dy: number): Camera {
  return { ...camera, x: camera.x + dx, y: camera.y + dy };
}

/** The camera unchanged when the box is wholly on screen; else centred on it, zoomed out as far as it needs to fit. */
export function revealCamera(camera: Camera, [x, y, w, h]: Bbox, viewport: Size, margin = 20): Camera {
  const left = camera.x + x * camera.scale;
  const top = camera.y + y * camera.scale;
  if (left >= 0 && top >= 0 && left + w * camera.scale <= viewport.width && top + h * camera.scale <= viewport.height) return camera;
  const fits = Math.min((viewport.width - 2 * margin) / Math.max(1, w), (viewport.height - 2 * margin) / Math.max(1, h));
  const scale = clampScale(Math.min(camera.scale, fits));
  return { scale, x: viewport.width / 2 - (x + w / 2) * scale, y: viewport.height / 2 - (y + h / 2) * scale };
}

/** Most a zoom to an instance magnifies: a speck is not blown up to fill the screen. */
export const FOCUS_MAX_SCALE = 16;

/** Centred on the box, zoomed so that it fills about two thirds of the canvas (a speck at most FOCUS_MAX_SCALE). */
export function focusCamera([x, y, w, h]: Bbox, viewport: Size): Camera {
  const fits = Math.min((viewport.width * 2) / 3 / Math.max(1, w), (viewport.height * 2) / 3 / Math.max(1, h));
  const scale = clampScale(Math.min(FOCUS_MAX_SCALE, fits));
  return { scale, x: viewport.width / 2 - (x + w / 2) * scale, y: viewport.height / 2 - (y + h / 2) * scale };
}

function clampScale(scale: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}
