// The real domain services for tests: over a project a test has already opened (used as it is, not scanned), with
// the shipped model folder and a user model folder that does not exist until something is imported into it.
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reply } from '../../app/ipc/contract.js';
import { createDispatcher, type Dispatch } from '../ipc/dispatcher.js';
import { createHandlers } from '../ipc/handlers.js';
import { createServices, type Services, type ServicesOptions } from '../services/index.js';
import type { ProjectStore } from '../store/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Services over `store` (or none open); `options` replace the defaults. */
export function servicesOver(store: ProjectStore | null, options: Partial<ServicesOptions> = {}): Services {
  return createServices({
    models: { shippedDir: path.join(root, 'resources', 'models'), userDir: path.join(tmpdir(), `loupe-test-user-models-${process.pid}`) },
    emit: () => {},
    ...(store && { store }),
    ...options,
  });
}

/** The dispatcher a transport would put in front of `services`. */
export function dispatcherOver(services: Services): Dispatch {
  return createDispatcher(createHandlers(services), { localPaths: () => services.localPaths() });
}

/** Calls a channel through `dispatch`, throwing `<code>: <message>` when refused. */
export async function callThrough<T>(dispatch: Dispatch, channel: string, request: unknown): Promise<T> {
  const reply = (await dispatch(channel, request)) as Reply<T>;
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.value;
}
