// `loupe serve`: one project folder behind the bridge, with the same services the desktop app uses.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheBytesFromEnv } from '../inference/prompt-client.js';
import { createDispatcher, forRenderer, type Dispatch } from '../ipc/dispatcher.js';
import { createHandlers } from '../ipc/handlers.js';
import { projectMedia } from '../media/index.js';
import { downloadSettingsFromEnv } from '../models/download.js';
import { createServices, type FileChooser, type Services } from '../services/index.js';
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
   * Answers for main's file dialog. A browser page has none, so by default the channels that need one (files.choose,
   * import.annotations) say they are not available; a test (or a tool) may answer for the dialog here.
   */
  readonly chooseFile?: FileChooser;
}

export interface Serving {
  readonly bridge: Bridge;
  readonly services: Services;
  /** Every channel, for callers in this process (tools, tests); the bridge's WebSocket answers only the UI's (forRenderer). */
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
    ...(options.chooseFile && { chooseFile: options.chooseFile }),
    log,
  });
  await services.project.open(folder);
  const dispatch = createDispatcher(createHandlers(services), {
    onUnexpected: (error, channel) => log(`${channel}: ${error instanceof Error ? error.stack : String(error)}`),
    localPaths: () => services.localPaths(),
  });
  const media = projectMedia(services);
  bridge = await startBridge({
    media,
    rendererDir,
    // The page gets the UI's channels only, as the Electron window does.
    dispatch: forRenderer(dispatch),
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
