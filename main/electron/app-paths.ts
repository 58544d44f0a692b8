// Where the desktop app finds its files, packaged (inside app.asar) or not.
import path from 'node:path';

/** Files native code reads (onnxruntime, sharp) are kept beside the asar archive, in app.asar.unpacked. */
export function unpackedPath(file: string): string {
  return file.replace(`${path.sep}app.asar${path.sep}`, `${path.sep}app.asar.unpacked${path.sep}`);
}

export interface AppPaths {
  readonly renderer: string;
  readonly preload: string;
  readonly shippedModels: string;
  readonly icon: string;
  readonly readme: string;
  readonly userModels: string;
  readonly recent: string;
  readonly windowState: string;
}

/** `root` holds package.json (the app.asar when packaged); `userData` is Electron's per-user folder. */
export function appPaths(root: string, userData: string): AppPaths {
  return {
    renderer: path.join(root, 'dist', 'renderer'),
    preload: path.join(root, 'dist', 'electron', 'preload.cjs'),
    shippedModels: unpackedPath(path.join(root, 'resources', 'models')),
    icon: path.join(root, 'resources', 'icons', 'icon.png'),
    readme: path.join(root, 'README.md'),
    userModels: path.join(userData, 'models'),
    recent: path.join(userData, 'recent-projects.json'),
    windowState: path.join(userData, 'window-state.json'),
  };
}
