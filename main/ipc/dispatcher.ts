// The dispatcher every transport (the bridge's WebSocket, Electron's ipcMain) calls: it validates each request
// against the contract, runs its handler, and always answers with a Reply, never a thrown exception. Domain errors
// become IPC error codes here, and only here; every error message leaves without local paths (redact.ts).
import { z } from 'zod';
import {
  channels, isChannel, isRendererChannel, MAX_PAYLOAD_BYTES,
  type ErrorCode, type Reply,
} from '../../app/ipc/contract.js';
import { DomainError, type DomainErrorKind } from '../../app/model/errors.js';
import type { LocalPaths } from '../services/index.js';
import type { Handlers } from './handlers.js';
import { pathsOf, redactPaths } from './redact.js';

/** The one place a domain error's kind becomes an IPC error code. */
const CODE_OF: Readonly<Record<DomainErrorKind, ErrorCode>> = { 'not-found': 'not-found', conflict: 'conflict', invalid: 'invalid-request' };

export type Dispatch = (channel: unknown, request: unknown) => Promise<Reply<unknown>>;

export interface DispatcherOptions {
  /** An error that is not a domain error: a bug or a system failure, logged with its stack. */
  readonly onUnexpected?: (error: unknown, channel: string) => void;
  /**
   * The paths main knows of (services.localPaths): in error messages a path inside the project is shown relative to it,
   * any other by its name; these are matched whole, spaces and all.
   */
  readonly localPaths?: () => LocalPaths;
}

export function createDispatcher(handlers: Handlers, options: DispatcherOptions = {}): Dispatch {
  const onUnexpected = options.onUnexpected ?? (() => {});
  const localPaths = options.localPaths ?? (() => ({ projectFolder: null, known: [] }));
  const failure = (code: ErrorCode, message: string, error?: unknown): Reply<never> => {
    const { projectFolder, known } = localPaths();
    return { ok: false, error: { code, message: redactPaths(message, projectFolder, [...pathsOf(error), ...known]) } };
  };
  return async (channel, request) => {
    if (!isChannel(channel)) {
      return failure('unknown-channel', `unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}`);
    }
    const parsed = channels[channel].req.safeParse(request ?? {});
    if (!parsed.success) {
      return failure('invalid-request', `${channel}: ${issuesText(parsed.error)}`);
    }
    try {
      const handler = handlers[channel] as (req: unknown) => unknown;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      if (error instanceof DomainError) return failure(CODE_OF[error.kind], error.message, error);
      onUnexpected(error, channel);
      return failure('failed', error instanceof Error ? error.message : String(error), error);
    }
  };
}

/**
 * The dispatcher as the UI reaches it (the Electron window, the browser page): only the channels the renderer uses
 * (RENDERER_CHANNELS); any other is refused as unknown before it is validated.
 */
export function forRenderer(dispatch: Dispatch): Dispatch {
  return async (channel, request) => {
    if (!isRendererChannel(channel)) {
      return { ok: false, error: { code: 'unknown-channel', message: `${JSON.stringify(String(channel)).slice(0, 80)} is not a channel the UI may call` } };
    }
    return dispatch(channel, request);
  };
}

/** Parses one raw transport message `{id, channel, request}`, refusing oversized or malformed ones. */
export function decodeRequest(raw: string):
  | { ok: true; id: number; channel: string; request: unknown }
  | { ok: false; id: number | null; code: ErrorCode; message: string } {
  if (raw.length > MAX_PAYLOAD_BYTES) {
    return { ok: false, id: null, code: 'too-large', message: `message of ${raw.length} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit` };
  }
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch {
    return { ok: false, id: null, code: 'invalid-request', message: 'message is not JSON' };
  }
  const shape = z.object({ id: z.number().int(), channel: z.string(), request: z.unknown() }).safeParse(message);
  if (!shape.success) {
    const id = typeof (message as { id?: unknown })?.id === 'number' ? (message as { id: number }).id : null;
    return { ok: false, id, code: 'invalid-request', message: 'message must be {id, channel, request}' };
  }
  return { ok: true, ...shape.data };
}

/** Every problem of a refused request on one line, each after the field it concerns: `id: Invalid input: ...; ...`. */
function issuesText(error: z.ZodError): string {
  return error.issues
    .map(({ path, message }) => {
      const field = path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '');
      return field === '' ? message : `${field}: ${message}`;
    })
    .join('; ');
}
