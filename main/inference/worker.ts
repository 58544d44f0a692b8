// Entry of the inference worker: owns the onnxruntime session and runs the whole per-image pipeline, so the
// process that hosts the UI and the database never decodes, runs the model or post-processes.
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { restrictImageLoaders } from '../fs/image-loaders.js';
import { ImageFailure } from './decode.js';
import { loadModel } from './model.js';
import { InferencePipeline, PredictionCancelled } from './pipeline.js';
import { INTERACTIVE_WORKER, PromptEngine } from './prompt-engine.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';
import { parentTransport } from './transport.js';

// Providers that fail to load are reported by createSession; ORT's own stderr lines would only repeat them.
ort.env.logLevel = 'fatal';
// Each image is decoded once: libvips' operation cache would only hold up to 50 MB of pixels nobody asks for again.
sharp.cache(false);
// Only the loaders Loupe reads. libvips-wide: in a worker thread it would restrict its host as well.
if (isMainThread) restrictImageLoaders();
// Bulk inference takes every core it is given; below-normal priority keeps the window and the rest of the desktop
// responsive meanwhile, and costs nothing when nothing else wants the cores. Only where the worker has a process of
// its own: in a worker thread it would lower its host as well. A worker answering a person (box prompts) keeps normal
// priority: a drawn box waits on it.
if (isMainThread && process.env[INTERACTIVE_WORKER] !== '1') {
  try {
    os.setPriority(os.constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // Some sandboxes refuse priority changes; inference then runs at normal priority.
  }
}

const transport = parentTransport();
let pipeline: InferencePipeline | null = null;
/** Box prompts, in a worker started for them (prompt-client.ts). */
let prompt: PromptEngine | null = null;

function failure(id: number, error: unknown): WorkerResponse {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { type: 'error', id, name, message };
}

async function handle(request: WorkerRequest): Promise<WorkerResponse> {
  switch (request.type) {
    case 'load': {
      if (pipeline) await pipeline.dispose();
      pipeline = null;
      const model = await loadModel(request.settings.cardPath, request.settings);
      pipeline = new InferencePipeline(model, request.settings);
      const { card, cardPath, onnxPath, provider } = model;
      return { type: 'loaded', id: request.id, info: { card, cardPath, onnxPath, provider, thresholds: pipeline.thresholds } };
    }
    case 'predict': {
      if (!pipeline) throw new Error('no model is loaded');
      try {
        return { type: 'prediction', id: request.id, prediction: await pipeline.predict(request.file) };
      } catch (error) {
        if (error instanceof PredictionCancelled) return { type: 'cancelled', id: request.id };
        if (error instanceof ImageFailure) return { type: 'image-failed', id: request.id, kind: error.kind, message: error.message };
        return { type: 'image-failed', id: request.id, kind: 'model', message: (error as Error).message };
      }
    }
    case 'cancel-pending': {
      pipeline?.cancelPending();
      return { type: 'cancelled', id: request.id };
    }
    case 'dispose': {
      await pipeline?.dispose();
      await prompt?.dispose();
      pipeline = null;
      prompt = null;
      return { type: 'disposed', id: request.id };
    }
    case 'prompt-load': {
      await prompt?.dispose();
      prompt = null;
      prompt = await PromptEngine.load(request.settings);
      return { type: 'prompt-loaded', id: request.id, info: prompt.info };
    }
    case 'prompt-prepare':
    case 'prompt-segment': {
      if (!prompt) throw new Error('no split model is loaded');
      try {
        if (request.type === 'prompt-prepare') return { type: 'prompt-prepared', id: request.id, prepared: await prompt.prepare(request.key, request.file) };
        return { type: 'prompt-segmented', id: request.id, segmented: await prompt.segment(request.key, request.file, request.boxes) };
      } catch (error) {
        if (error instanceof ImageFailure) return { type: 'image-failed', id: request.id, kind: error.kind, message: error.message };
        throw error;
      }
    }
  }
}

transport.onMessage((request) => {
  handle(request).then(
    (response) => transport.post(response),
    (error: unknown) => transport.post(failure(request.id, error)),
  );
});
