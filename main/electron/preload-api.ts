// The contract's Api as the preload builds it over ipcRenderer: the channels the UI uses (RENDERER_CHANNELS) and
// no other. No electron import here (preload.ts passes ipcRenderer in), so it is tested under Node against the real
// guard and dispatcher.
import {
  IpcRequestError, isEventName, isRendererChannel,
  type Disposable, type EventName, type EventPayload, type RendererApi, type RendererChannel, type Reply, type Req, type Res,
} from '../../app/ipc/contract.js';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './ipc-names.js';
import { IMAGE_SCHEME } from './security.js';

/** The part of Electron's IpcRenderer the Api uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function imageProtocolUrl(kind: 'files' | 'thumbs', relativePath: string): string {
  return `${IMAGE_SCHEME}://${kind}/${relativePath.split('/').map(encodeURIComponent).join('/')}`;
}

export function createPreloadApi(ipc: IpcRendererLike): RendererApi {
  return {
    async invoke<C extends RendererChannel>(channel: C, request: Req<C>): Promise<Res<C>> {
      if (!isRendererChannel(channel)) throw new IpcRequestError(String(channel), 'unknown-channel', 'not a channel the UI may call');
      const reply = (await ipc.invoke(INVOKE_CHANNEL, channel, request)) as Reply<Res<C>>;
      if (!reply.ok) throw new IpcRequestError(channel, reply.error.code, reply.error.message);
      return reply.value;
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Disposable {
      if (!isEventName(event)) throw new IpcRequestError(String(event), 'unknown-channel', 'not an event of the contract');
      const wrapped = (_event: unknown, name: unknown, payload: unknown) => {
        if (name === event) listener(payload as EventPayload<E>);
      };
      ipc.on(EVENT_CHANNEL, wrapped);
      let disposed = false;
      return {
        dispose: () => {
          if (disposed) return;
          disposed = true;
          ipc.removeListener(EVENT_CHANNEL, wrapped);
        },
      };
    },
    imageUrl: (image) => imageProtocolUrl('files', image.path),
    thumbnailUrl: (image) => imageProtocolUrl('thumbs', image.path),
  };
}
