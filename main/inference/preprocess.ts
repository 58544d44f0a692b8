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

/** Zeroes the padding right of and below a width x height image in each plane of a reused tensor. */
function clearPadding(data: Float32Array, width: number, height: number, paddedWidth: number, paddedHeight: number): void {
  const plane = paddedWidth * paddedHeight;
  for (let start = 0; start < data.length; start += plane) {
    if (width < paddedWidth) {
      for (let y = 0; y < height; y++) data.fill(0, start + y * paddedWidth + width, start + (y + 1) * paddedWidth);
    }
    data.fill(0, start + height * paddedWidth, start + plane);
  }
}

/**
 * Fills a tensor from `rgb` (width x height, interleaved). `reuse`, a tensor returned by an earlier call, is
 * filled in place when it has the same dims: image-sized buffers allocated per image cost more (zeroing, page
 * faults, garbage collection) than the conversion itself.
 */
export function toInputTensor(rgb: Uint8Array, width: number, height: number, card: Pick<ModelCard, 'input'>, reuse?: InputTensor): InputTensor {
  const { channels, scale, mean, sizeDivisor } = card.input;
  const paddedWidth = padTo(width, sizeDivisor);
  const paddedHeight = padTo(height, sizeDivisor);
  const plane = paddedWidth * paddedHeight;
  const fits = reuse !== undefined && reuse.dims[1] === paddedHeight && reuse.dims[2] === paddedWidth;
  const data = fits ? reuse.data : new Float32Array(3 * plane);
  if (fits) clearPadding(data, width, height, paddedWidth, paddedHeight);
  const multiplier = scale === 255 ? 1 : 1 / 255;
  // Offsets of the planes fed by the R, G and B bytes: RGB keeps the order, BGR reverses it.
  const [r, g, b] = channels === 'RGB' ? [0, plane, 2 * plane] : [2 * plane, plane, 0];
  const [meanR, meanG, meanB] = channels === 'RGB' ? [mean[0]!, mean[1]!, mean[2]!] : [mean[2]!, mean[1]!, mean[0]!];
  for (let y = 0, inp = 0; y < height; y++) {
    const rowEnd = y * paddedWidth + width;
    for (let out = y * paddedWidth; out < rowEnd; out++, inp += 3) {
      data[r + out] = rgb[inp]! * multiplier - meanR;
      data[g + out] = rgb[inp + 1]! * multiplier - meanG;
      data[b + out] = rgb[inp + 2]! * multiplier - meanB;
    }
  }
  return { data, dims: [3, paddedHeight, paddedWidth] };
}
