// Main's side of the preload channel: refuse senders that are not our app:// page, refuse payloads
// that are too large or cannot be serialised, refuse channels the UI does not use, then let the contract's
// dispatcher validate and run.
import { MAX_PAYLOAD_BYTES, type Reply } from '../../app/ipc/contract.js';
import { forRenderer, type Dispatch } from '../ipc/dispatcher.js';
import { isTrustedSenderUrl } from './security.js';

export { EVENT_CHANNEL, INVOKE_CHANNEL } from './ipc-names.js';

export type GuardedInvoke = (senderUrl: string | undefined | null, channel: unknown, request: unknown) => Promise<Reply<unknown>>;

/** Size of a request as JSON, or null when it is not plain data (cycles, BigInt, functions dropped...). */
function serialisedSize(request: unknown): number | null {
  try {
    const json = JSON.stringify(request ?? null);
    return json === undefined ? null : Buffer.byteLength(json);
  } catch {
    return null;
  }
}

export function guardInvoke(dispatchAny: Dispatch, log: (message: string) => void = () => {}): GuardedInvoke {
  // Even a renderer that bypassed the preload reaches only the UI's channels.
  const dispatch = forRenderer(dispatchAny);
  return async (senderUrl, channel, request) => {
    if (!isTrustedSenderUrl(senderUrl)) {
      log(`ipc: refused ${String(channel).slice(0, 80)} from untrusted frame ${String(senderUrl).slice(0, 200)}`);
      return { ok: false, error: { code: 'invalid-request', message: 'request refused: it does not come from the Loupe window' } };
    }
    const size = serialisedSize(request);
    if (size === null) {
      return { ok: false, error: { code: 'invalid-request', message: `${String(channel).slice(0, 80)}: request is not plain JSON data` } };
    }
    if (size > MAX_PAYLOAD_BYTES) {
      return {
        ok: false,
        error: { code: 'too-large', message: `${String(channel).slice(0, 80)}: request of ${size} bytes exceeds the ${MAX_PAYLOAD_BYTES}-byte limit` },
      };
    }
    try {
      return await dispatch(channel, request);
    } catch (error) {
      // The dispatcher answers every handler error itself; this only guards main against its own bugs.
      log(`ipc: dispatcher threw on ${String(channel).slice(0, 80)}: ${(error as Error).stack ?? String(error)}`);
      return { ok: false, error: { code: 'failed', message: 'internal error' } };
    }
  };
}
