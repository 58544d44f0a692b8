import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appPaths, unpackedPath } from './app-paths.js';

describe('appPaths', () => {
  it('reads models from app.asar.unpacked when packaged, and everything else from the archive', () => {
    const root = path.join('/opt', 'Loupe', 'resources', 'app.asar');
    const paths = appPaths(root, '/home/me/.config/Loupe');
    expect(paths.shippedModels).toBe(path.join('/opt', 'Loupe', 'resources', 'app.asar.unpacked', 'resources', 'models'));
    expect(paths.preload).toBe(path.join(root, 'dist', 'electron', 'preload.cjs'));
    expect(paths.renderer).toBe(path.join(root, 'dist', 'renderer'));
    expect(paths.windowState).toBe(path.join('/home/me/.config/Loupe', 'window-state.json'));
  });

  it('leaves development paths alone, even with "app.asar" inside a name', () => {
    expect(unpackedPath('/src/loupe/resources/models')).toBe('/src/loupe/resources/models');
    expect(unpackedPath('/src/my-app.asar-notes/x')).toBe('/src/my-app.asar-notes/x');
    expect(appPaths('/src/loupe', '/u').shippedModels).toBe(path.join('/src/loupe', 'resources', 'models'));
  });
});
