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
  /** onnxruntime's memory patterns (see MemoryPatterns); 'auto' unless measuring. */
  memoryPatterns?: MemoryPatterns;
  /** onnxruntime's CPU memory arena, on unless measuring (off: flat memory but 35-50% slower here, BENCHMARKS.md). */
  memoryArena?: boolean;
}

/**
 * onnxruntime's memory patterns: for each input shape it meets, a session plans where every tensor of a run goes and
 * takes one block for them all from its arena per run. The plans are kept for good, looked up by the XOR of the
 * dims (so some shapes get another's plan), and on a folder where every image has its own size the arena grows
 * around blocks of ever other sizes: +40 to +66 MB per worker over 1,000 images (BENCHMARKS.md, "Worker memory on
 * folders of mixed sizes"). Without them each tensor comes from the arena on its own, which stays flat but runs a few
 * percent slower where shapes repeat. 'auto' starts with them and lets the pipeline reopen the session without them
 * once images come in many sizes (pipeline.ts); 'on' and 'off' are for measuring.
 */
export type MemoryPatterns = 'auto' | 'on' | 'off';

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
    enableMemPattern: settings.memoryPatterns !== 'off',
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
