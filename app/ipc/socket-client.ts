// The contract's client over a WebSocket-like connection: the renderer's view of the bridge, and
// what tests use from Node. Pure: it is given the socket and the URL scheme.
import type { Api, Channel, Disposable, EventName, EventPayload, Req, Res, ServerMessage } from './contract.js';
import { IpcRequestError } from './errors.js';

/** The part of the WebSocket interface (browser or `ws`) the client needs. */
export interface MessageSocket {
  send(data: string): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: () => void): void;
}

export interface SocketApi extends Api {
  close(): void;
}

/**
 * Builds the Api over an open socket; `base` is the bridge origin. Media URLs carry no secret: the
 * bridge's session cookie, which the browser sends with them, is what lets them through.
 */
export function createSocketApi(socket: MessageSocket, base: string): SocketApi {
  let nextId = 1;
  const pending = new Map<number, { channel: string; resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();

  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as ServerMessage;
    if (message.kind === 'event') {
      for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
      return;
    }
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.reply.ok) call.resolve(message.reply.value);
    else call.reject(new IpcRequestError(call.channel, message.reply.error.code, message.reply.error.message));
  });
  socket.addEventListener('close', () => {
    for (const call of pending.values()) call.reject(new IpcRequestError(call.channel, 'failed', 'connection to Loupe closed'));
    pending.clear();
  });

  const mediaUrl = (kind: 'files' | 'thumbs', relativePath: string) =>
    `${base}/${kind}/${relativePath.split('/').map(encodeURIComponent).join('/')}`;

  return {
    invoke<C extends Channel>(channel: C, request: Req<C>): Promise<Res<C>> {
      const id = nextId++;
      return new Promise<Res<C>>((resolve, reject) => {
        pending.set(id, { channel, resolve: resolve as (value: unknown) => void, reject });
        socket.send(JSON.stringify({ id, channel, request }));
      });
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Disposable {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return { dispose: () => set.delete(wrapped) };
    },
    imageUrl: (image) => mediaUrl('files', image.path),
    thumbnailUrl: (image) => mediaUrl('thumbs', image.path),
    close: () => socket.close(),
  };
}
