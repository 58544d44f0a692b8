// decode -> preprocess -> session.run -> postprocess for one loaded model. Calls may overlap: the next images
// decode while the current one runs, with a bounded number of decoded images held at once.
import ort from 'onnxruntime-node';
import { decodeImage, DEFAULT_MAX_INPUT_PIXELS, ImageFailure } from './decode.js';
import type { LoadedModel } from './model.js';
import { postprocess, type Detection, type OutputTensor, type Thresholds } from './postprocess.js';
import { toInputTensor, type InputTensor } from './preprocess.js';

export interface ImagePrediction {
  /** Displayed (EXIF-rotated) size; masks and boxes are in this space. */
  width: number;
  height: number;
  detections: Detection[];
  timings: { decodeMs: number; runMs: number; postprocessMs: number };
}

export interface PipelineOptions {
  /** Overrides the card's default score threshold. */
  scoreThreshold?: number;
  maskThreshold?: number;
  maxInputPixels?: number;
  /** Images decoded and waiting for (or in) the model at once. */
  prefetch?: number;
}

/** A prediction dropped by cancelPending() before its model run started. */
export class PredictionCancelled extends Error {
  override readonly name = 'PredictionCancelled';
}

/** A counting semaphore: acquire resolves when one of `size` slots is free. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

function elapsed(since: number): number {
  return performance.now() - since;
}

export class InferencePipeline {
  readonly thresholds: Thresholds;
  private readonly maxInputPixels: number;
  private readonly prefetch: number;
  private readonly decodeSlots: Slots;
  private readonly runSlot = new Slots(1);
  /** Bumped by cancelPending(): a prediction from an older generation does not start its run. */
  private generation = 0;
  /** Input tensors whose run is over, filled again by the next images of the same size. */
  private readonly spareInputs: InputTensor[] = [];

  constructor(
    readonly model: LoadedModel,
    options: PipelineOptions = {},
  ) {
    this.thresholds = {
      score: options.scoreThreshold ?? model.card.thresholds.score,
      mask: options.maskThreshold ?? model.card.thresholds.mask,
    };
    this.maxInputPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
    this.prefetch = Math.max(1, options.prefetch ?? 2);
    this.decodeSlots = new Slots(this.prefetch);
  }

  /** Predicts one image file. Throws ImageFailure for anything wrong with this image or its run. */
  async predict(file: string): Promise<ImagePrediction> {
    const { card, session } = this.model;
    const generation = this.generation;
    await this.decodeSlots.acquire();
    let decoded: Awaited<ReturnType<typeof decodeImage>>;
    let input: InputTensor | undefined;
    let outputs: Record<string, OutputTensor>;
    const decodeStart = performance.now();
    let decodeMs: number;
    let runMs: number;
    try {
      decoded = await decodeImage(file, card, this.maxInputPixels);
      input = toInputTensor(decoded.rgb, decoded.inputWidth, decoded.inputHeight, card, this.spareInputs.pop());
      decodeMs = elapsed(decodeStart);
      await this.runSlot.acquire();
      const runStart = performance.now();
      try {
        // session.run blocks this thread: let a cancel message that arrived during the last run land first.
        await new Promise((resolve) => setImmediate(resolve));
        if (generation !== this.generation) throw new PredictionCancelled('cancelled before its run');
        const feeds = { [card.input.name]: new ort.Tensor('float32', input.data, input.dims) };
        outputs = (await session.run(feeds)) as unknown as Record<string, OutputTensor>;
      } catch (error) {
        if (error instanceof PredictionCancelled) throw error;
        throw new ImageFailure('model', `model error: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        runMs = elapsed(runStart);
        this.runSlot.release();
      }
    } finally {
      if (input && this.spareInputs.length < this.prefetch) this.spareInputs.push(input);
      this.decodeSlots.release();
    }
    const postStart = performance.now();
    let detections: Detection[];
    try {
      detections = postprocess(outputs, decoded, card, this.thresholds);
    } catch (error) {
      throw new ImageFailure('model', `cannot read the model's output: ${(error as Error).message}`);
    } finally {
      for (const tensor of Object.values(outputs)) (tensor as unknown as ort.Tensor).dispose?.();
    }
    return {
      width: decoded.width,
      height: decoded.height,
      detections,
      timings: { decodeMs, runMs, postprocessMs: elapsed(postStart) },
    };
  }

  /** Predictions already asked for but not yet running end with PredictionCancelled; the running one finishes. */
  cancelPending(): void {
    this.generation++;
  }

  async dispose(): Promise<void> {
    await this.model.session.release();
  }
}
