// Turning a model's mask probabilities into full-resolution binary masks.

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

/**
 * Writes 1 into `out` (row-major, outWidth x outHeight) wherever the bilinearly resized probability map exceeds the
 * threshold, within the output window [x0, x1) x [y0, y1). `window` places the whole resized map in output space:
 * its top-left corner and size. Returns the number of pixels set.
 */
function thresholdResized(
  probabilities: Float32Array,
  offset: number,
  inWidth: number,
  inHeight: number,
  window: { left: number; top: number; width: number; height: number },
  clip: { x0: number; y0: number; x1: number; y1: number },
  threshold: number,
  out: Uint8Array,
  outWidth: number,
): number {
  const columns = clip.x1 - clip.x0;
  const rows = clip.y1 - clip.y0;
  if (columns <= 0 || rows <= 0) return 0;
  const xs = bilinearAxis(inWidth, window.width, clip.x0 - window.left, columns);
  const ys = bilinearAxis(inHeight, window.height, clip.y0 - window.top, rows);
  let set = 0;
  for (let r = 0; r < rows; r++) {
    const top = offset + ys.i0[r]! * inWidth;
    const bottom = offset + ys.i1[r]! * inWidth;
    const wy = ys.w1[r]!;
    let index = (clip.y0 + r) * outWidth + clip.x0;
    for (let c = 0; c < columns; c++, index++) {
      const a = xs.i0[c]!;
      const b = xs.i1[c]!;
      const wx = xs.w1[c]!;
      const upper = probabilities[top + a]! + (probabilities[top + b]! - probabilities[top + a]!) * wx;
      const lower = probabilities[bottom + a]! + (probabilities[bottom + b]! - probabilities[bottom + a]!) * wx;
      if (upper + (lower - upper) * wy > threshold) {
        out[index] = 1;
        set++;
      }
    }
  }
  return set;
}

/**
 * Pastes one per-box mask (size x size probabilities, e.g. 28 x 28) into a full image, the way torchvision's
 * paste_masks_in_image and Detectron do: pad the mask by one cell, grow the box by the same ratio, round the box
 * to whole pixels, resize bilinearly into it, then threshold. Returns the number of pixels set.
 */
export function pasteBoxMask(
  probabilities: Float32Array,
  offset: number,
  size: number,
  box: readonly [number, number, number, number],
  threshold: number,
  out: Uint8Array,
  imageWidth: number,
  imageHeight: number,
): number {
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
  const width = Math.max(right - left + 1, 1);
  const height = Math.max(bottom - top + 1, 1);
  return thresholdResized(
    paddedMask,
    0,
    padded,
    padded,
    { left, top, width, height },
    { x0: Math.max(left, 0), y0: Math.max(top, 0), x1: Math.min(right + 1, imageWidth), y1: Math.min(bottom + 1, imageHeight) },
    threshold,
    out,
    imageWidth,
  );
}

/**
 * Maps a full-image probability map computed on a downscaled input (inWidth x inHeight) back to the full image:
 * bilinear upsampling, limited to the region where the map is non-zero, then threshold. Returns pixels set.
 */
export function upsampleImageMask(
  probabilities: Float32Array,
  offset: number,
  inWidth: number,
  inHeight: number,
  threshold: number,
  out: Uint8Array,
  imageWidth: number,
  imageHeight: number,
): number {
  let minX = inWidth;
  let minY = inHeight;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < inHeight; y++) {
    const row = offset + y * inWidth;
    for (let x = 0; x < inWidth; x++) {
      if (probabilities[row + x]! > 0) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return 0;
  const sx = imageWidth / inWidth;
  const sy = imageHeight / inHeight;
  // Output pixels whose bilinear footprint can touch a non-zero input cell.
  const clip = {
    x0: Math.max(0, Math.floor((minX - 1) * sx)),
    y0: Math.max(0, Math.floor((minY - 1) * sy)),
    x1: Math.min(imageWidth, Math.ceil((maxX + 2) * sx)),
    y1: Math.min(imageHeight, Math.ceil((maxY + 2) * sy)),
  };
  return thresholdResized(
    probabilities,
    offset,
    inWidth,
    inHeight,
    { left: 0, top: 0, width: imageWidth, height: imageHeight },
    clip,
    threshold,
    out,
    imageWidth,
  );
}

/** Thresholds a full-image probability map that is already at the image's size. Returns pixels set. */
export function thresholdImageMask(probabilities: Float32Array, offset: number, threshold: number, out: Uint8Array): number {
  let set = 0;
  for (let i = 0; i < out.length; i++) {
    if (probabilities[offset + i]! > threshold) {
      out[i] = 1;
      set++;
    }
  }
  return set;
}
