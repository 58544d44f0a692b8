import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcRequestError, MAX_PAYLOAD_BYTES, RENDERER_CHANNELS, type RendererApi, type Reply } from '../../app/ipc/contract.js';
import { dispatcherOver, servicesOver } from '../testing/services.test-support.js';
import { openProject, type ProjectStore } from '../store/index.js';
import { EVENT_CHANNEL, guardInvoke, INVOKE_CHANNEL } from './ipc-guard.js';
import { createPreloadApi, type IpcRendererLike } from './preload-api.js';

type Listener = (event: unknown, ...args: unknown[]) => void;

/**
 * Stands in for Electron's ipcRenderer/ipcMain pair (no Electron binary here): arguments are
 * structured-cloned as Electron does, and the sender frame's URL is whatever the test says.
 */
function transport(guard: ReturnType<typeof guardInvoke>, senderUrl: () => string) {
  const listeners = new Set<Listener>();
  const ipc: IpcRendererLike = {
    invoke: async (channel, ...args) => {
      expect(channel).toBe(INVOKE_CHANNEL);
      const [name, request] = structuredClone(args);
      return structuredClone(await guard(senderUrl(), name, request));
    },
    on: (channel, listener) => {
      expect(channel).toBe(EVENT_CHANNEL);
      listeners.add(listener);
    },
    removeListener: (_channel, listener) => listeners.delete(listener),
  };
  const send = (event: string, payload: unknown) => {
    for (const listener of listeners) listener({}, event, structuredClone(payload));
  };
  return { ipc, send, listeners };
}

let folder: string;
let store: ProjectStore;
let sender = 'app://loupe/index.html';
let api: RendererApi;
let guard: ReturnType<typeof guardInvoke>;
let wire: ReturnType<typeof transport>;
const logged: string[] = [];

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'loupe-ipc-'));
  store = openProject(folder);
  const dispatch = dispatcherOver(servicesOver(store));
  guard = guardInvoke(dispatch, (m) => logged.push(m));
  wire = transport(guard, () => sender);
  api = createPreloadApi(wire.ipc);
});

afterAll(async () => {
  store.close();
  await rm(folder, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<IpcRequestError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(IpcRequestError);
  return error as IpcRequestError;
}

describe('preload Api over the guarded channel', () => {
  it('round-trips requests to the real handlers and SQLite store', async () => {
    const created = await api.invoke('categories.create', { name: 'circle', color: '#ff0000' });
    expect(created).toMatchObject({ name: 'circle', color: '#ff0000' });
    expect((await api.invoke('categories.list', {})).categories).toEqual([created]);
    expect(store.categories.getByName('circle')?.id).toBe(created.id);
  });

  it('refuses requests from a frame that is not the app:// page, and logs them', async () => {
    sender = 'https://evil.example/';
    try {
      const error = await failure(api.invoke('categories.create', { name: 'intruder' }));
      expect(error.code).toBe('invalid-request');
      expect(error.message).toMatch(/does not come from the Loupe window/);
      expect(store.categories.getByName('intruder')).toBeFalsy();
      expect(logged.at(-1)).toMatch(/refused categories\.create from untrusted frame https:\/\/evil\.example/);
    } finally {
      sender = 'app://loupe/index.html';
    }
  });

  it('answers an oversized payload with too-large and keeps serving', async () => {
    const huge = 'x'.repeat(MAX_PAYLOAD_BYTES + 1);
    const error = await failure(api.invoke('categories.create', { name: huge }));
    expect(error.code).toBe('too-large');
    expect((await api.invoke('categories.list', {})).categories.length).toBeGreaterThan(0);
  });

  it('answers malformed payloads with invalid-request naming the field', async () => {
    const error = await failure(api.invoke('categories.create', { name: 5 } as never));
    expect(error.code).toBe('invalid-request');
    expect(error.message).toMatch(/name: Invalid input: expected string, received number/);
    const big = await failure(api.invoke('images.get', { id: 10n } as never));
    expect(big.message).toMatch(/not plain JSON data/);
  });

  it('refuses channel and event names outside the contract before anything is sent', async () => {
    const error = await failure(api.invoke('fs.readFile' as never, {} as never));
    expect(error.code).toBe('unknown-channel');
    expect(() => api.on('shell.exec' as never, () => {})).toThrow(IpcRequestError);
  });

  it('exposes only the channels the UI uses: the others are refused by the preload, and by main when sent around it', async () => {
    const unused = ['images.setStatus', 'models.download', 'models.cancelDownload'] as const;
    const sent: string[] = [];
    const counting = createPreloadApi({ ...wire.ipc, invoke: async (channel, ...args) => (sent.push(String(args[0])), wire.ipc.invoke(channel, ...args)) });
    for (const channel of unused) {
      expect(RENDERER_CHANNELS).not.toContain(channel);
      const error = await failure(counting.invoke(channel as never, {} as never));
      expect(error).toMatchObject({ code: 'unknown-channel', message: `${channel}: not a channel the UI may call` });
      // A compromised page that reached ipcRenderer itself gets the same answer from main.
      expect(await guard('app://loupe/index.html', channel, { id: 1, status: 'reviewed' })).toEqual({
        ok: false, error: { code: 'unknown-channel', message: `"${channel}" is not a channel the UI may call` },
      });
    }
    expect(sent).toEqual([]);
    const reply = (await guard('app://loupe/index.html', 'categories.list', {})) as Reply<unknown>;
    expect(reply.ok).toBe(true);
  });

  it('delivers events by name until the listener is disposed', () => {
    const got: unknown[] = [];
    const subscription = api.on('images.changed', (payload) => got.push(payload));
    wire.send('images.changed', { ids: [1, 2] });
    wire.send('prelabel.progress', { runId: 1 });
    subscription.dispose();
    subscription.dispose();
    wire.send('images.changed', { ids: [3] });
    expect(got).toEqual([{ ids: [1, 2] }]);
    expect(wire.listeners.size).toBe(0);
  });

  it('builds image URLs on the loupe-image protocol with each segment encoded', () => {
    const image = { id: 1 as never, path: 'sub dir/a#1?.jpg' };
    expect(api.imageUrl(image)).toBe('loupe-image://files/sub%20dir/a%231%3F.jpg');
    expect(api.thumbnailUrl(image)).toBe('loupe-image://thumbs/sub%20dir/a%231%3F.jpg');
  });
});
