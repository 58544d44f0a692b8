// Turning a model's mask probabilities into full-resolution binary masks. Each mask is built only over the
// rectangle it can cover (a RegionMask) and run-length encoded from there, so a 12-megapixel photo costs per
// detection what its box covers, not what the whole image does.
import { fromCounts } from '../../app/geometry/rle.js';
import type { Rle } from '../../app/model/types.js';

/** A binary mask over the rectangle [x0, x0 + width) x [y0, y0 + height) of an image; 0 everywhere else. */
export interface RegionMask {
  x0: number;
  y0: number;
  width: number;
  height: number;
  /** Row-major, 0 or 1. */
  data: Uint8Array;
  /** Pixels set. */
  pixels: number;
}

interface Window {
  /** Where the resized probability map lands in the image: top-left corner and size. */
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Clip {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Bilinear sampling positions along one axis, as PyTorch's interpolate(mode='bilinear', align_corners=False). */
function bilinearAxis(inSize: number, outSize: number, first: number, count: number) {
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const w1 = new Float32Array(count);
  const ratio = inSize / outSize;
  for (let k = 0; k < count; k++) {
    const source = Math.max(0, (first + k + 0.5) * ratio - 0.5);
    const low = Math.min(Math.floor(source), inSize - 1);
    i0[k] = low;
    i1[k] = Math.min(low + 1, inSize - 1);
    w1[k] = source - low;
  }
  return { i0, i1, w1 };
}

/** Resizes a probability map bilinearly into `window` and thresholds it, computing only the pixels inside `clip`. */
function thresholdResized(
  probabilities: Float32Array,
  offset: number,
  inWidth: number,
  inHeight: number,
  window: Window,
  clip: Clip,
  threshold: number,
): RegionMask {
  const width = Math.max(0, clip.x1 - clip.x0);
  const height = Math.max(0, clip.y1 - clip.y0);
  const data = new Uint8Array(width * height);
  const region: RegionMask = { x0: clip.x0, y0: clip.y0, width, height, data, pixels: 0 };
  if (width === 0 || height === 0) return region;
  const xs = bilinearAxis(inWidth, window.width, clip.x0 - window.left, width);
  const ys = bilinearAxis(inHeight, window.height, clip.y0 - window.top, height);
  let pixels = 0;
  for (let r = 0; r < height; r++) {
    const top = offset + ys.i0[r]! * inWidth;
    const bottom = offset + ys.i1[r]! * inWidth;
    const wy = ys.w1[r]!;
    let index = r * width;
    for (let c = 0; c < width; c++, index++) {
      const a = xs.i0[c]!;
      const b = xs.i1[c]!;
      const wx = xs.w1[c]!;
      const upper = probabilities[top + a]! + (probabilities[top + b]! - probabilities[top + a]!) * wx;
      const lower = probabilities[bottom + a]! + (probabilities[bottom + b]! - probabilities[bottom + a]!) * wx;
      if (upper + (lower - upper) * wy > threshold) {
        data[index] = 1;
        pixels++;
      }
    }
  }
  region.pixels = pixels;
  return region;
}

/**
 * Pastes one per-box mask (size x size probabilities, e.g. 28 x 28) into the image the way torchvision's
 * paste_masks_in_image and Detectron do: pad the mask by one cell, grow the box by the same ratio, round the box
 * to whole pixels, resize bilinearly into it, then threshold.
 */
export function pasteBoxMask(
  probabilities: Float32Array,
  offset: number,
  size: number,
  box: readonly [number, number, number, number],
  threshold: number,
  imageWidth: number,
  imageHeight: number,
): RegionMask {
  const padded = size + 2;
  const paddedMask = new Float32Array(padded * padded);
  for (let y = 0; y < size; y++) {
    paddedMask.set(probabilities.subarray(offset + y * size, offset + (y + 1) * size), (y + 1) * padded + 1);
  }
  const grow = padded / size;
  const [bx0, by0, bx1, by1] = box;
  const halfWidth = ((bx1 - bx0) / 2) * grow;
  const halfHeight = ((by1 - by0) / 2) * grow;
  const centerX = (bx0 + bx1) / 2;
  const centerY = (by0 + by1) / 2;
  // Truncation toward zero, as torchvision's cast of the grown boxes to int64.
  const left = Math.trunc(centerX - halfWidth);
  const top = Math.trunc(centerY - halfHeight);
  const right = Math.trunc(centerX + halfWidth);
  const bottom = Math.trunc(centerY + halfHeight);
  return thresholdResized(
    paddedMask,
    0,
    padded,
    padded,
    { left, top, width: Math.max(right - left + 1, 1), height: Math.max(bottom - top + 1, 1) },
    { x0: Math.max(left, 0), y0: Math.max(top, 0), x1: Math.min(right + 1, imageWidth), y1: Math.min(bottom + 1, imageHeight) },
    threshold,
  );
}

/**
 * The smallest rectangle holding every value of a probability map above `floor`, looking only inside `within`;
 * null when there is none.
 */
function extent(probabilities: Float32Array, offset: number, width: number, within: Clip, floor: number): Clip | null {
  let x0 = width;
  let y0 = Number.MAX_SAFE_INTEGER;
  let x1 = -1;
  let y1 = -1;
  for (let y = within.y0; y < within.y1; y++) {
    const row = offset + y * width;
    for (let x = within.x0; x < within.x1; x++) {
      if (probabilities[row + x]! > floor) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * Where a mask pasted into its detection's box can be non-zero: the box (in map cells) grown as
 * torchvision's paste_masks_in_image grows it (by 2 cells of a 28-cell mask, under 10%), with room to spare.
 */
export function pastedMaskBounds(box: readonly [number, number, number, number], width: number, height: number): Clip {
  const [bx0, by0, bx1, by1] = box;
  const marginX = (bx1 - bx0) * 0.25 + 2;
  const marginY = (by1 - by0) * 0.25 + 2;
  const clamp = (value: number, size: number) => Math.min(Math.max(value, 0), size);
  return {
    x0: clamp(Math.floor(bx0 - marginX), width),
    y0: clamp(Math.floor(by0 - marginY), height),
    x1: clamp(Math.ceil(bx1 + marginX), width),
    y1: clamp(Math.ceil(by1 + marginY), height),
  };
}

/**
 * A full-image probability map to a binary mask of the full image. When the map was computed on a downscaled
 * input (inWidth x inHeight smaller than the image), it is upsampled bilinearly over the region where it is
 * non-zero, then thresholded. `within` (map cells), where given, is the only place the map can be non-zero
 * (pastedMaskBounds of the detection's box), which spares scanning the whole map for each detection.
 */
export function imageMask(
  probabilities: Float32Array,
  offset: number,
  inWidth: number,
  inHeight: number,
  threshold: number,
  imageWidth: number,
  imageHeight: number,
  within: Clip = { x0: 0, y0: 0, x1: inWidth, y1: inHeight },
): RegionMask {
  const same = inWidth === imageWidth && inHeight === imageHeight;
  // Interpolated values never exceed their neighbours, so only cells above the threshold (or, when resizing,
  // above zero) can light an output pixel.
  const found = extent(probabilities, offset, inWidth, within, same ? threshold : 0);
  if (!found) return { x0: 0, y0: 0, width: 0, height: 0, data: new Uint8Array(0), pixels: 0 };
  const sx = imageWidth / inWidth;
  const sy = imageHeight / inHeight;
  const clip = same
    ? found
    : {
        x0: Math.max(0, Math.floor((found.x0 - 1) * sx)),
        y0: Math.max(0, Math.floor((found.y0 - 1) * sy)),
        x1: Math.min(imageWidth, Math.ceil((found.x1 + 1) * sx)),
        y1: Math.min(imageHeight, Math.ceil((found.y1 + 1) * sy)),
      };
  return thresholdResized(probabilities, offset, inWidth, inHeight, { left: 0, top: 0, width: imageWidth, height: imageHeight }, clip, threshold);
}

/** COCO RLE of a region mask placed in an imageWidth x imageHeight image (column-major runs, zeros first). */
export function regionToRle(region: RegionMask, imageWidth: number, imageHeight: number): Rle {
  const counts: number[] = [];
  let value = 0;
  let run = 0;
  const push = (bit: number, length: number) => {
    if (length === 0) return;
    if (bit === value) {
      run += length;
    } else {
      counts.push(run);
      value = bit;
      run = length;
    }
  };
  const { x0, y0, width, height, data } = region;
  for (let x = 0; x < imageWidth; x++) {
    const inside = x >= x0 && x < x0 + width;
    if (!inside || height === 0) {
      push(0, imageHeight);
      continue;
    }
    push(0, y0);
    for (let y = 0, index = x - x0; y < height; y++, index += width) push(data[index]!, 1);
    push(0, imageHeight - y0 - height);
  }
  counts.push(run);
  return fromCounts([imageHeight, imageWidth], counts);
}
