import { describe, expect, it } from 'vitest';
import { distance, imagePoint, screenPoint, type ImagePoint, type ScreenPoint } from './points.js';

describe('points', () => {
  it('keeps image and screen points apart at compile time', () => {
    const image: ImagePoint = imagePoint(3, 4);
    const screen: ScreenPoint = screenPoint(0, 0);
    // @ts-expect-error a screen point is not an image point
    const wrong: ImagePoint = screen;
    // @ts-expect-error distances are measured within one space
    distance(image, screen);
    expect(wrong).toEqual({ x: 0, y: 0 });
    expect(distance(image, imagePoint(0, 0))).toBe(5);
  });
});
