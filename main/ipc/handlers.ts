// One handler per contract channel, and the dispatcher every transport (bridge, Electron) calls:
// it validates each request at runtime and always answers with a Reply, never a thrown exception.
import {
  channels, isChannel, MAX_PAYLOAD_BYTES,
  type Channel, type ErrorCode, type ParsedReq, type Reply, type Res,
} from '../../app/ipc/contract.js';
import { z } from 'zod';
import { DomainError, type DomainErrorKind } from '../../app/model/errors.js';

export type Handlers = { readonly [C in Channel]: (request: ParsedReq<C>) => Promise<Res<C>> | Res<C> };

/** Throw from a handler to answer with a specific error code. */
export class HandlerError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'HandlerError';
  }
}

/** The one place a domain error's kind becomes an IPC error code. */
const CODE_OF: Readonly<Record<DomainErrorKind, ErrorCode>> = { 'not-found': 'not-found', conflict: 'conflict', invalid: 'invalid-request' };

export type Dispatch = (channel: unknown, request: unknown) => Promise<Reply<unknown>>;

export function createDispatcher(handlers: Handlers, onUnexpected: (error: unknown, channel: string) => void = () => {}): Dispatch {
  return async (channel, request) => {
    if (!isChannel(channel)) {
      return failure('unknown-channel', `unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}`);
    }
    const parsed = channels[channel].req.safeParse(request ?? {});
    if (!parsed.success) {
      return failure('invalid-request', `${channel}: ${z.prettifyError(parsed.error)}`);
    }
    try {
      const handler = handlers[channel] as (req: unknown) => unknown;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      if (error instanceof HandlerError) return failure(error.code, error.message);
      if (error instanceof DomainError) return failure(CODE_OF[error.kind], error.message);
      onUnexpected(error, channel);
      return failure('failed', error instanceof Error ? error.message : String(error));
    }
  };
}

function failure(code: ErrorCode, message: string): Reply<never> {
  return { ok: false, error: { code, message } };
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
