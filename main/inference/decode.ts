// Decodes an image file (sharp, or main/fs/bmp.ts for BMP) into RGB pixels at the size the model will see, EXIF orientation applied.
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import type { ModelCard } from '../../app/model/card.js';
import { decodeBmp, readBmpHeader, type RawImage } from '../fs/bmp.js';
import { isBmpFile } from '../fs/probe.js';

/** sharp's own default limit (16383 x 16383). */
export const DEFAULT_MAX_INPUT_PIXELS = 268_402_689;

export type ImageFailureKind = 'unreadable' | 'empty' | 'not-an-image' | 'decode' | 'too-large' | 'model' | 'crashed';

/** A per-image failure; the job records `message` against the image and goes on. */
export class ImageFailure extends Error {
  override readonly name = 'ImageFailure';
  constructor(
    readonly kind: ImageFailureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedImage {
  /** Displayed (EXIF-rotated) size of the file: the size annotations are in. */
  width: number;
  height: number;
  /** The pixels handed to the model: RGB, row-major, inputWidth x inputHeight. */
  rgb: Buffer;
  inputWidth: number;
  inputHeight: number;
  /** inputWidth / width and inputHeight / height. */
  scaleX: number;
  scaleY: number;
}

/** The factor torchvision's GeneralizedRCNNTransform resizes by: short side to minSize, long side at most maxSize. */
export function modelScale(width: number, height: number, card: Pick<ModelCard, 'input'>): number {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  return Math.min(card.input.minSize / short, card.input.maxSize / long);
}

/**
 * Graphs that resize internally get the image at full size, or downscaled to the size they would shrink it to
 * (cheaper to decode and to pass, and the graph's own resize becomes a no-op). Graphs that do not resize get
 * exactly the model's size.
 */
export function inputScale(width: number, height: number, card: Pick<ModelCard, 'input'>): number {
  const scale = modelScale(width, height, card);
  return card.input.resizesInternally ? Math.min(1, scale) : scale;
}

function describeSharpError(error: unknown): ImageFailure {
  const message = error instanceof Error ? error.message.split('\n')[0]!.trim() : String(error);
  if (/unsupported image format/i.test(message)) return new ImageFailure('not-an-image', `not an image: ${message}`);
  if (/exceeds (the )?pixel limit/i.test(message)) return new ImageFailure('too-large', `image too large: ${message}`);
  return new ImageFailure('decode', `cannot decode: ${message}`);
}

export async function decodeImage(file: string, card: Pick<ModelCard, 'input'>, maxInputPixels = DEFAULT_MAX_INPUT_PIXELS): Promise<DecodedImage> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new ImageFailure('unreadable', `cannot read file: ${(error as Error).message}`);
  }
  if (size === 0) throw new ImageFailure('empty', 'empty file (0 bytes)');
  let width: number;
  let height: number;
  // sharp has no BMP loader: BMP pixels are decoded by main/fs/bmp.ts and handed to sharp raw.
  let bmp: RawImage | null = null;
  try {
    if (await isBmpFile(file)) {
      const bytes = await readFile(file);
      ({ width, height } = readBmpHeader(bytes));
      // Refused before the pixels are expanded.
      if (width * height <= maxInputPixels) bmp = decodeBmp(bytes);
    } else {
      const metadata = await sharp(file, { limitInputPixels: false }).metadata();
      width = metadata.autoOrient.width;
      height = metadata.autoOrient.height;
    }
  } catch (error) {
    throw describeSharpError(error);
  }
  if (width * height > maxInputPixels) {
    throw new ImageFailure(
      'too-large',
      `image too large: ${width} x ${height} = ${width * height} pixels exceeds the limit of ${maxInputPixels}`,
    );
  }
  const scale = inputScale(width, height, card);
  const inputWidth = Math.max(1, Math.round(width * scale));
  const inputHeight = Math.max(1, Math.round(height * scale));
  try {
    const source = bmp
      ? sharp(bmp.data, { raw: { width, height, channels: bmp.channels }, limitInputPixels: maxInputPixels })
      : sharp(file, { limitInputPixels: maxInputPixels });
    let pipeline = source.rotate().removeAlpha().toColourspace('srgb');
    if (inputWidth !== width || inputHeight !== height) {
      pipeline = pipeline.resize(inputWidth, inputHeight, { fit: 'fill' });
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== inputWidth || info.height !== inputHeight) {
      throw new Error(`decoded to ${info.width} x ${info.height} x ${info.channels}, expected ${inputWidth} x ${inputHeight} x 3`);
    }
    return { width, height, rgb: data, inputWidth, inputHeight, scaleX: inputWidth / width, scaleY: inputHeight / height };
  } catch (error) {
    throw describeSharpError(error);
  }
}
