// The one place that maps Loupe's provider names to onnxruntime-node execution providers, by platform.
import ort from 'onnxruntime-node';
import { PROVIDER_LABELS, PROVIDER_NAMES, type ProviderChoice, type ProviderName } from '../../app/model/index.js';

export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', ...PROVIDER_NAMES];
export type { ProviderChoice, ProviderName };

/** The accelerator each platform's onnxruntime-node build can use, tried first by 'auto'. */
const PLATFORM_ACCELERATORS: Partial<Record<NodeJS.Platform, ProviderName>> = {
  linux: 'cuda',
  win32: 'dml',
  darwin: 'coreml',
};

export function isProviderChoice(value: string): value is ProviderChoice {
  return (PROVIDER_CHOICES as readonly string[]).includes(value);
}

/** Providers this platform's onnxruntime-node build knows, most preferred first. */
export function supportedProviders(platform: NodeJS.Platform = process.platform): ProviderName[] {
  const accelerator = PLATFORM_ACCELERATORS[platform];
  return accelerator ? [accelerator, 'cpu'] : ['cpu'];
}

export interface SessionSettings {
  provider: ProviderChoice;
  intraOpThreads?: number;
  interOpThreads?: number;
  /**
   * onnxruntime's memory patterns, off unless asked for. With them on, the session plans one block per input shape
   * it meets and keeps every plan; on a folder where each image has its own size that block changes size every run
   * and the memory arena grows around it (BENCHMARKS.md, "Worker memory on a folder of mixed sizes"). Off, each
   * tensor comes from the arena on its own, as fast. On only to measure against.
   */
  memoryPattern?: boolean;
  /** onnxruntime's CPU memory arena, on unless turned off (off: flat but ~35% slower here; measured, not shipped). */
  memoryArena?: boolean;
}

export interface ProviderReport {
  requested: ProviderChoice;
  /** The provider the session runs on. */
  provider: ProviderName;
  /** Why 'auto' did not get its first choice; null when it did or when a provider was forced. */
  fallback: string | null;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
}

function sessionOptions(provider: ProviderName, settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // Idle intra-op threads would otherwise spin, taking the cores that decode the next image meanwhile.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    enableMemPattern: settings.memoryPattern ?? false,
    enableCpuMemArena: settings.memoryArena ?? true,
    ...(settings.intraOpThreads ? { intraOpNumThreads: settings.intraOpThreads } : {}),
    ...(settings.interOpThreads ? { interOpNumThreads: settings.interOpThreads } : {}),
  };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

/**
 * Creates a session on the chosen provider. 'auto' tries the platform's accelerator, then CPU, and says why it fell
 * back; a forced provider that cannot start fails, listing what this platform supports.
 */
export async function createSession(
  modelPath: string,
  settings: SessionSettings,
  platform: NodeJS.Platform = process.platform,
): Promise<{ session: ort.InferenceSession; report: ProviderReport }> {
  const supported = supportedProviders(platform);
  const requested = settings.provider;
  if (requested !== 'auto' && !supported.includes(requested)) {
    throw new ProviderError(
      `${PROVIDER_LABELS[requested]} provider ('${requested}') is not available on ${platform}; ` +
        `supported here: auto, ${supported.join(', ')}`,
    );
  }
  if (requested !== 'auto') {
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(requested, settings));
      return { session, report: { requested, provider: requested, fallback: null } };
    } catch (error) {
      throw new ProviderError(
        `${PROVIDER_LABELS[requested]} provider ('${requested}') could not start: ${firstLine(error)}; ` +
          `supported on ${platform}: auto, ${supported.join(', ')}` +
          (requested === 'cuda' ? ' (CUDA needs an NVIDIA GPU and the CUDA 12 provider libraries; see README, "GPU (CUDA) install")' : ''),
      );
    }
  }
  const reasons: string[] = [];
  for (const provider of supported) {
    try {
      const session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, settings));
      const fallback = reasons.length > 0 ? `${reasons.join('; ')}; using ${PROVIDER_LABELS[provider]}` : null;
      return { session, report: { requested, provider, fallback } };
    } catch (error) {
      if (provider === 'cpu') throw error;
      reasons.push(`${PROVIDER_LABELS[provider]} provider unavailable: ${firstLine(error)}`);
    }
  }
  throw new ProviderError(`no execution provider could start on ${platform}`);
}
