// The messages between the inference worker and its client. Plain data only: they cross a child process's IPC
// channel under Node (or a worker_threads port) and an Electron utilityProcess port in the desktop app.
import type { ModelCard } from '../../app/model/card.js';
import type { Bbox } from '../../app/model/types.js';
import type { ImageFailureKind } from './decode.js';
import type { ImagePrediction } from './pipeline.js';
import type { PreparedFeatures, PromptLoadSettings, PromptModelInfo, Segmented } from './prompt-engine.js';
import type { ProviderReport, SessionSettings } from './providers.js';
import type { Thresholds } from './postprocess.js';

/** The session's settings (provider, threads, memory options) and the pipeline's. */
export interface LoadSettings extends SessionSettings {
  /** Path of the model card (.json); the .onnx is found from it. */
  cardPath: string;
  scoreThreshold?: number;
  maskThreshold?: number;
  /** Images with more pixels than this fail as 'too-large' instead of being decoded. */
  maxInputPixels?: number;
  /** Images decoded ahead of the model run. */
  prefetch?: number;
}

export interface ModelInfo {
  card: ModelCard;
  cardPath: string;
  onnxPath: string;
  provider: ProviderReport;
  thresholds: Thresholds;
}

export type WorkerRequest =
  | { type: 'load'; id: number; settings: LoadSettings }
  | { type: 'predict'; id: number; file: string }
  /** Predictions not yet running are answered 'cancelled'; the one running finishes. */
  | { type: 'cancel-pending'; id: number }
  | { type: 'dispose'; id: number }
  /** Box prompts (prompt-engine.ts): a split model, an image's feature maps (`key` names its content), boxes on it. */
  | { type: 'prompt-load'; id: number; settings: PromptLoadSettings }
  | { type: 'prompt-prepare'; id: number; key: string; file: string }
  | { type: 'prompt-segment'; id: number; key: string; file: string; boxes: Bbox[] };

export type WorkerResponse =
  | { type: 'loaded'; id: number; info: ModelInfo }
  | { type: 'prediction'; id: number; prediction: ImagePrediction }
  | { type: 'image-failed'; id: number; kind: ImageFailureKind; message: string }
  | { type: 'cancelled'; id: number }
  | { type: 'error'; id: number; name: string; message: string }
  | { type: 'disposed'; id: number }
  | { type: 'prompt-loaded'; id: number; info: PromptModelInfo }
  | { type: 'prompt-prepared'; id: number; prepared: PreparedFeatures }
  | { type: 'prompt-segmented'; id: number; segmented: Segmented };
