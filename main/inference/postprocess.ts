// Graph outputs -> detections at full image resolution: score threshold, masks pasted or mapped back and
// thresholded, masks to COCO RLE, bbox from the mask (from the box for box-only models).
import type { ModelCard } from '../../app/model/card.js';
import type { Bbox, Rle } from '../../app/model/types.js';
import { toBbox } from '../../app/geometry/rle.js';
import { imageMask, pasteBoxMask, pastedMaskBounds, regionToRle, type RegionMask } from './masks.js';

export interface Detection {
  /** Index into the card's labels (never 0, the background). */
  labelIndex: number;
  label: string;
  score: number;
  bbox: Bbox;
  /** Null for box-only models. */
  mask: Rle | null;
}

export interface OutputTensor {
  data: Float32Array | BigInt64Array | Int32Array | Float64Array;
  dims: readonly number[];
}

export interface Thresholds {
  score: number;
  mask: number;
}

export interface ImageGeometry {
  width: number;
  height: number;
  inputWidth: number;
  inputHeight: number;
  scaleX: number;
  scaleY: number;
}

function floats(tensor: OutputTensor, name: string): Float32Array {
  if (!(tensor.data instanceof Float32Array)) throw new Error(`output '${name}' is not float32`);
  return tensor.data;
}

type Box = [number, number, number, number];

/** Detection i's box as the graph gave it: x1, y1, x2, y2 in input pixels. */
function inputBox(boxes: Float32Array, i: number): Box {
  return [boxes[i * 4]!, boxes[i * 4 + 1]!, boxes[i * 4 + 2]!, boxes[i * 4 + 3]!];
}

function fullResolutionBox([x1, y1, x2, y2]: Box, image: ImageGeometry): Box {
  return [x1 / image.scaleX, y1 / image.scaleY, x2 / image.scaleX, y2 / image.scaleY];
}

function clippedBbox(box: Readonly<Box>, image: ImageGeometry): Bbox | null {
  const x0 = Math.min(Math.max(box[0], 0), image.width);
  const y0 = Math.min(Math.max(box[1], 0), image.height);
  const x1 = Math.min(Math.max(box[2], 0), image.width);
  const y1 = Math.min(Math.max(box[3], 0), image.height);
  return x1 > x0 && y1 > y0 ? [x0, y0, x1 - x0, y1 - y0] : null;
}

/**
 * Detections above the score threshold, highest score first. A detection whose mask is empty after thresholding
 * is dropped: it would be an annotation with nothing in it.
 */
export function postprocess(
  outputs: Readonly<Record<string, OutputTensor>>,
  image: ImageGeometry,
  card: ModelCard,
  thresholds: Thresholds,
): Detection[] {
  const get = (name: string): OutputTensor => {
    const tensor = outputs[name];
    if (!tensor) throw new Error(`the model returned no output '${name}'`);
    return tensor;
  };
  const boxes = floats(get(card.outputs.boxes), card.outputs.boxes);
  const scores = floats(get(card.outputs.scores), card.outputs.scores);
  const labels = get(card.outputs.labels).data;
  const count = scores.length;
  if (boxes.length !== count * 4 || labels.length !== count) {
    throw new Error(`outputs disagree on the number of detections: ${count} scores, ${boxes.length / 4} boxes, ${labels.length} labels`);
  }
  const masks = card.outputs.masks === undefined ? null : get(card.outputs.masks);
  const maskData = masks ? floats(masks, card.outputs.masks!) : null;
  const maskHeight = masks ? masks.dims[2]! : 0;
  const maskWidth = masks ? masks.dims[3]! : 0;
  if (masks && masks.dims[0] !== count) {
    throw new Error(`output '${card.outputs.masks}' has ${masks.dims[0]} masks for ${count} detections`);
  }

  const order = [...Array(count).keys()].sort((a, b) => scores[b]! - scores[a]!);
  const detections: Detection[] = [];
  for (const i of order) {
    const score = scores[i]!;
    if (score < thresholds.score) break;
    const labelIndex = Number(labels[i]);
    const label = card.labels[labelIndex];
    if (labelIndex <= 0 || label === undefined) continue;
    const graphBox = inputBox(boxes, i);
    const box = fullResolutionBox(graphBox, image);
    if (!maskData) {
      const bbox = clippedBbox(box, image);
      if (bbox) detections.push({ labelIndex, label, score, bbox, mask: null });
      continue;
    }
    const offset = i * maskWidth * maskHeight;
    let region: RegionMask;
    if (card.format === 'onnx-zoo-maskrcnn') {
      if (maskWidth !== maskHeight) throw new Error(`per-box masks must be square, got ${maskHeight} x ${maskWidth}`);
      region = pasteBoxMask(maskData, offset, maskWidth, box, thresholds.mask, image.width, image.height);
    } else if (maskWidth === image.inputWidth && maskHeight === image.inputHeight) {
      const within = pastedMaskBounds(graphBox, maskWidth, maskHeight);
      region = imageMask(maskData, offset, maskWidth, maskHeight, thresholds.mask, image.width, image.height, within);
    } else {
      throw new Error(`masks are ${maskWidth} x ${maskHeight}, expected the input size ${image.inputWidth} x ${image.inputHeight}`);
    }
    if (region.pixels === 0) continue;
    const mask = regionToRle(region, image.width, image.height);
    detections.push({ labelIndex, label, score, bbox: toBbox(mask), mask });
  }
  return detections;
}
