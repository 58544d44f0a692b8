// RGB pixels -> the float CHW tensor a card describes (channel order, value range, means, padding).
import type { ModelCard } from '../../app/model/card.js';

export interface InputTensor {
  data: Float32Array;
  /** [3, height, width], height and width padded to the card's size divisor. */
  dims: [number, number, number];
}

function padTo(size: number, divisor: number): number {
  return Math.ceil(size / divisor) * divisor;
}

export function toInputTensor(rgb: Uint8Array, width: number, height: number, card: ModelCard): InputTensor {
  const { channels, scale, mean, sizeDivisor } = card.input;
  const paddedWidth = padTo(width, sizeDivisor);
  const paddedHeight = padTo(height, sizeDivisor);
  const plane = paddedWidth * paddedHeight;
  const data = new Float32Array(3 * plane);
  const multiplier = scale === 255 ? 1 : 1 / 255;
  // Source channel feeding each tensor plane: RGB keeps the order, BGR reverses it.
  const sources = channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const source = sources[c]!;
    const offset = mean[c]!;
    const planeStart = c * plane;
    for (let y = 0; y < height; y++) {
      let out = planeStart + y * paddedWidth;
      let inp = y * width * 3 + source;
      for (let x = 0; x < width; x++, out++, inp += 3) {
        data[out] = rgb[inp]! * multiplier - offset;
      }
    }
  }
  return { data, dims: [3, paddedHeight, paddedWidth] };
}
