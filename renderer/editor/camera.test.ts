import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { imagePoint, screenPoint } from '../../app/geometry/points.js';
import { fitCamera, focusCamera, FOCUS_MAX_SCALE, MAX_SCALE, revealCamera, toImage, toScreen, zoomCamera, type Camera } from './camera.js';

const cameraArb = fc.record({ x: fc.double({ min: -5000, max: 5000, noNaN: true }), y: fc.double({ min: -5000, max: 5000, noNaN: true }), scale: fc.double({ min: 0.05, max: 30, noNaN: true }) });
const coord = fc.double({ min: -2000, max: 2000, noNaN: true });

describe('camera', () => {
  it('maps image to screen and back', () => {
    fc.assert(fc.property(cameraArb, coord, coord, (camera: Camera, x, y) => {
      const back = toImage(camera, toScreen(camera, imagePoint(x, y)));
      expect(back.x).toBeCloseTo(x, 6);
      expect(back.y).toBeCloseTo(y, 6);
    }));
  });

  it('zooms around a screen point, which keeps showing the same image point', () => {
    fc.assert(fc.property(cameraArb, coord, coord, fc.double({ min: 0.5, max: 2, noNaN: true }), (camera: Camera, sx, sy, factor) => {
      const around = screenPoint(sx, sy);
      const zoomed = zoomCamera(camera, factor, around);
      const before = toImage(camera, around);
      const after = toImage(zoomed, around);
      expect(after.x).toBeCloseTo(before.x, 4);
      expect(after.y).toBeCloseTo(before.y, 4);
    }));
    expect(zoomCamera({ x: 0, y: 0, scale: 30 }, 10, screenPoint(0, 0)).scale).toBe(MAX_SCALE);
  });

  it('fits the image, centred, inside the viewport', () => {
    const camera = fitCamera({ width: 400, height: 200 }, { width: 1000, height: 1000 });
    expect(camera.scale).toBeCloseTo(2.45);
    expect(toScreen(camera, imagePoint(200, 100))).toEqual({ x: 500, y: 500 });
  });

  it('reveals a box: unchanged when it is on screen, else centred on it and zoomed out to fit', () => {
    const viewport = { width: 800, height: 600 };
    const camera = { x: 0, y: 0, scale: 2 };
    expect(revealCamera(camera, [10, 10, 50, 50], viewport)).toBe(camera);
    const far = revealCamera(camera, [1000, 1000, 600, 100], viewport);
    expect(far.scale).toBeCloseTo(760 / 600);
    const centre = toScreen(far, imagePoint(1300, 1050));
    expect(centre.x).toBeCloseTo(400);
    expect(centre.y).toBeCloseTo(300);
  });

  it('focuses on a box: centred, filling two thirds of the canvas on its tighter side, a speck magnified at most FOCUS_MAX_SCALE', () => {
    const viewport = { width: 900, height: 600 };
    const camera = focusCamera([100, 50, 200, 100], viewport);
    expect(camera.scale).toBeCloseTo(3);
    const centre = toScreen(camera, imagePoint(200, 100));
    expect([centre.x, centre.y]).toEqual([450, 300]);
    expect(focusCamera([10, 10, 2, 2], viewport).scale).toBe(FOCUS_MAX_SCALE);
  });
});
