import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseModelCard, type ModelCard } from '../../app/model/card.js';
import { toInputTensor } from './preprocess.js';

function card(input: Record<string, unknown>): ModelCard {
  return parseModelCard(
    { format: 'onnx-zoo-maskrcnn', name: 'test', labels: ['__background__', 'thing'], input: { name: 'image', minSize: 8, maxSize: 16, ...input },
      outputs: { boxes: 'boxes', labels: 'labels', scores: 'scores', masks: 'masks' } },
    'test.json',
  );
}

const torchvision = card({ channels: 'RGB', scale: 1 });
const zoo = card({ channels: 'BGR', scale: 255, mean: [102.98, 115.95, 122.77], sizeDivisor: 8 });

/** The tensor written out value by value: plane c, row y, column x, zero where padded. */
function reference(rgb: Uint8Array, width: number, height: number, model: ModelCard): { data: Float32Array; dims: number[] } {
  const divisor = model.input.sizeDivisor;
  const [paddedWidth, paddedHeight] = [Math.ceil(width / divisor) * divisor, Math.ceil(height / divisor) * divisor];
  const data = new Float32Array(3 * paddedWidth * paddedHeight);
  for (let c = 0; c < 3; c++) {
    const source = model.input.channels === 'RGB' ? c : 2 - c;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const value = rgb[(y * width + x) * 3 + source]! / (model.input.scale === 255 ? 1 : 255);
        data[(c * paddedHeight + y) * paddedWidth + x] = value - model.input.mean[c]!;
      }
    }
  }
  return { data, dims: [3, paddedHeight, paddedWidth] };
}

const image = fc
  .record({ width: fc.integer({ min: 1, max: 20 }), height: fc.integer({ min: 1, max: 20 }) })
  .chain(({ width, height }) => fc.record({ width: fc.constant(width), height: fc.constant(height), rgb: fc.uint8Array({ minLength: width * height * 3, maxLength: width * height * 3 }) }));

describe('toInputTensor', () => {
  it('lays RGB bytes out as the card says: channel order, range, means and zero padding', () => {
    fc.assert(
      fc.property(image, fc.constantFrom(torchvision, zoo), ({ rgb, width, height }, model) => {
        const tensor = toInputTensor(rgb, width, height, model);
        const expected = reference(rgb, width, height, model);
        expect(tensor.dims).toEqual(expected.dims);
        expect(tensor.data).toEqual(expected.data);
      }),
    );
  });

  it('fills a tensor of the same size in place, and allocates a new one for another size', () => {
    fc.assert(
      fc.property(image, image, ({ rgb, width, height }, other) => {
        const earlier = toInputTensor(other.rgb, other.width, other.height, zoo);
        const buffer = earlier.data;
        const tensor = toInputTensor(rgb, width, height, zoo, earlier);
        const sameDims = earlier.dims.every((dim, i) => dim === tensor.dims[i]);
        expect(tensor.data === buffer).toBe(sameDims);
        expect(tensor.data).toEqual(reference(rgb, width, height, zoo).data);
      }),
    );
  });
});
