// The contract's error vocabulary, apart from its schemas so a client can use it without loading zod.

/** Why a request failed; `invalid-request` means it never reached a handler. */
export const ERROR_CODES = ['invalid-request', 'unknown-channel', 'too-large', 'not-found', 'conflict', 'failed'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The error a client raises when main answers `ok: false`. */
export class IpcRequestError extends Error {
  constructor(readonly channel: string, readonly code: ErrorCode, message: string) {
    super(`${channel}: ${message}`);
    this.name = 'IpcRequestError';
  }
}
