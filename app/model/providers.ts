// Execution providers by Loupe's names, and how they are named to people. Plain data, so the renderer can use it
// without the contract's schemas.

export const PROVIDER_NAMES = ['cpu', 'cuda', 'dml', 'coreml'] as const;
/** CPU, CUDA (Linux), DirectML (Windows), CoreML (macOS). */
export type ProviderName = (typeof PROVIDER_NAMES)[number];
/** A provider, or 'auto': the platform's accelerator, then the CPU. */
export type ProviderChoice = 'auto' | ProviderName;

export const PROVIDER_LABELS: Readonly<Record<ProviderName, string>> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML' };
