import { describe, expect, it } from 'vitest';
import { placeLabels, type LabelRequest } from './labels.js';

const label = (key: string, x: number, y: number, must = false): LabelRequest<string> => ({ key, box: { x, y, width: 50, height: 40 }, width: 40, height: 14, must });

describe('label placement', () => {
  it('puts a label above its box, moves one that would cover another inside or below its box, and leaves out one with no room', () => {
    const placed = placeLabels([label('a', 100, 100), label('b', 110, 100), label('c', 105, 100), label('d', 102, 100)]);
    expect(placed).toEqual([
      { key: 'a', x: 100, y: 86 },
      { key: 'b', x: 110, y: 100 },
      { key: 'c', x: 105, y: 140 },
    ]);
  });

  it('places the labels that must be shown first, over the others', () => {
    const placed = placeLabels([label('a', 100, 100), label('sel', 100, 100, true)]);
    expect(placed[0]).toEqual({ key: 'sel', x: 100, y: 86 });
    expect(placed[1]).toEqual({ key: 'a', x: 100, y: 100 });
  });
});
