// `loupe serve`: one project folder behind the bridge, with the same services the desktop app uses.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheBytesFromEnv } from '../inference/prompt-client.js';
import { createDispatcher, type Dispatch } from '../ipc/dispatcher.js';
import { createHandlers } from '../ipc/handlers.js';
import { projectMedia } from '../media/index.js';
import { downloadSettingsFromEnv } from '../models/download.js';
import { createServices, type ImportSourceChooser, type Services } from '../services/index.js';
import { startBridge, type Bridge } from './server.js';

export interface ServeOptions {
  readonly port?: number;
  /** Extra model folder searched before the shipped one (e.g. the folder of a --model card). */
  readonly modelDir?: string;
  /** Where imported and downloaded models go; default ~/.loupe/models. */
  readonly userModelDir?: string;
  /** The built renderer; default dist/renderer. */
  readonly rendererDir?: string;
  readonly token?: string;
  readonly log?: (message: string) => void;
  /**
   * Where an import's source comes from. A browser page has no main-side file dialog, so by default
   * import.annotations says it is not available; a test (or a tool) may answer for the dialog here.
   */
  readonly chooseImportSource?: ImportSourceChooser;
}

export interface Serving {
  readonly bridge: Bridge;
  readonly services: Services;
  /** The dispatcher behind the bridge's WebSocket (the same one Electron's ipcMain would call). */
  readonly dispatch: Dispatch;
  close(): Promise<void>;
}

/** The repository root, from main/bridge or dist/main/bridge alike. */
export function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../../..') : path.resolve(here, '../..');
}

export async function serveFolder(folder: string, options: ServeOptions = {}): Promise<Serving> {
  const root = repoRoot();
  const rendererDir = options.rendererDir ?? path.join(root, 'dist', 'renderer');
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new Error(`${rendererDir}: the renderer is not built; run \`npm run build:renderer\``);
  }
  const log = options.log ?? ((message: string) => void process.stderr.write(`${message}\n`));
  let bridge: Bridge | null = null;
  const services = createServices({
    models: {
      shippedDir: path.join(root, 'resources', 'models'),
      userDir: options.userModelDir ?? path.join(homedir(), '.loupe', 'models'),
      extraFolders: options.modelDir ? [{ source: 'user' as const, dir: path.resolve(options.modelDir) }] : [],
      download: downloadSettingsFromEnv(process.env),
    },
    emit: (event, payload) => bridge?.emit(event, payload),
    prompt: { cacheBytes: cacheBytesFromEnv() },
    ...(options.chooseImportSource && { chooseImportSource: options.chooseImportSource }),
    log,
  });
  await services.project.open(folder);
  const dispatch = createDispatcher(createHandlers(services), {
    onUnexpected: (error, channel) => log(`${channel}: ${error instanceof Error ? error.stack : String(error)}`),
  });
  const media = projectMedia(services);
  bridge = await startBridge({
    media,
    rendererDir,
    dispatch,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    log,
  });
  const started = bridge;
  return {
    bridge: started,
    services,
    dispatch,
    async close() {
      await started.close();
      await services.close();
    },
  };
}
