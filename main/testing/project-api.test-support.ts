// The contract's Api for tests of UI code without a browser: requests go through the real dispatcher, handlers
// and services over a real store, JSON-encoded both ways as a transport would, and refusals arrive
// as the IpcRequestError a client raises. Events are emitted by the test, as main would.
import { IpcRequestError, type Api, type Channel, type Disposable, type EventName, type EventPayload, type Reply, type Req, type Res } from '../../app/ipc/contract.js';
import type { Services } from '../services/index.js';
import { dispatcherOver } from './services.test-support.js';

export interface TestApi extends Api {
  /** Sends an event to the listeners, as main does. */
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  /** Every request made, in order. */
  readonly requests: { readonly channel: Channel; readonly request: unknown }[];
}

export function createTestApi(services: Services): TestApi {
  const dispatch = dispatcherOver(services);
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const requests: { channel: Channel; request: unknown }[] = [];
  return {
    requests,
    async invoke<C extends Channel>(channel: C, request: Req<C>): Promise<Res<C>> {
      requests.push({ channel, request });
      const reply = (await dispatch(channel, JSON.parse(JSON.stringify(request)))) as Reply<Res<C>>;
      if (!reply.ok) throw new IpcRequestError(channel, reply.error.code, reply.error.message);
      return JSON.parse(JSON.stringify(reply.value)) as Res<C>;
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Disposable {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return { dispose: () => set.delete(wrapped) };
    },
    emit(event, payload) {
      for (const listener of listeners.get(event) ?? []) listener(JSON.parse(JSON.stringify(payload)));
    },
    imageUrl: (image) => `test://files/${image.path}`,
    thumbnailUrl: (image) => `test://thumbs/${image.path}`,
  };
}
