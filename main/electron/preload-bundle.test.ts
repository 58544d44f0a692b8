// The sandboxed preload can `require` only 'electron': check the bundle `npm run build:electron`
// makes (same esbuild options, built here into a temp folder) needs nothing else and exposes exactly the Api.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'loupe-preload-'));
  const scripts = JSON.parse(await readFile(path.join(here, '..', '..', 'package.json'), 'utf8')).scripts as Record<string, string>;
  expect(scripts['build:electron']).toContain('--format=cjs');
  expect(scripts['build:electron']).toContain('--external:electron');
  const outfile = path.join(dir, 'preload.cjs');
  await build({
    entryPoints: [path.join(here, 'preload.ts')], bundle: true, minify: true, platform: 'browser', format: 'cjs',
    target: 'chrome130', external: ['electron'], outfile, logLevel: 'warning',
  });
  source = await readFile(outfile, 'utf8');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preload bundle', () => {
  it('requires only electron and exposes exactly the contract Api as window.loupe', async () => {
    const required: string[] = [];
    const exposed: [string, Record<string, unknown>][] = [];
    const sent: unknown[][] = [];
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, value: Record<string, unknown>) => exposed.push([key, value]) },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => (sent.push(args), { ok: false, error: { code: 'not-found', message: 'nope' } }),
        on: () => {},
        removeListener: () => {},
      },
    };
    const fakeRequire = (name: string) => {
      required.push(name);
      if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
      return electron;
    };
    new Function('require', 'module', 'exports', source)(fakeRequire, { exports: {} }, {});
    expect(required).toEqual(['electron']);
    expect(exposed.map(([key]) => key)).toEqual(['loupe']);
    const api = exposed[0]![1] as { invoke: (c: string, r: unknown) => Promise<unknown> };
    expect(Object.keys(api).sort()).toEqual(['imageUrl', 'invoke', 'on', 'thumbnailUrl']);
    await expect(api.invoke('images.get', { id: 7 })).rejects.toThrow('images.get: nope');
    expect(sent).toEqual([['loupe:invoke', 'images.get', { id: 7 }]]);
  });
});
