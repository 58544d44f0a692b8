// Electron main process: a thin transport over the domain services (main/services) and the project's media
// (main/media), wired to Electron with the tested, Electron-free modules of this folder. Keep logic out of here;
// every decision it makes is a call into security, protocols, ipc-guard, menus, window-state, recent-projects,
// run-feedback or the services.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, Notification, protocol, screen, session, shell, utilityProcess,
  type WebContents,
} from 'electron';
import type { EventName, EventPayload } from '../../app/ipc/contract.js';
import { utilityProcessPort, workerEntryPath, workerProcessEnv } from '../inference/client.js';
import { cacheBytesFromEnv, promptWorkerEnv } from '../inference/prompt-client.js';
import { createDispatcher } from '../ipc/dispatcher.js';
import { createHandlers } from '../ipc/handlers.js';
import { restrictImageLoaders } from '../fs/image-loaders.js';
import { projectMedia } from '../media/index.js';
import { downloadSettingsFromEnv } from '../models/download.js';
import { createServices } from '../services/index.js';
import { untrustedEntryPath } from '../untrusted/client.js';
import { utilityChild } from '../untrusted/port.js';
import { appPaths } from './app-paths.js';
import { fileDialog, savedPath } from './file-dialogs.js';
import { EVENT_CHANNEL, guardInvoke, INVOKE_CHANNEL } from './ipc-guard.js';
import { toElectronMenu } from './menu.js';
import { menuTemplate, type MenuCommand } from './menu-template.js';
import { createAppProtocolHandler, createImageProtocolHandler } from './protocols.js';
import { addRecent, loadRecent, removeRecent, saveRecent } from './recent-projects.js';
import { progressBarState, runEndNotice } from './run-feedback.js';
import { APP_ENTRY, APP_SCHEME, droppedPathFromUrl, folderFromArgv, IMAGE_SCHEME, refusedSwitch } from './security.js';
import { createUpdater, type Updater } from './updater.js';
import { loadWindowState, MIN_SIZE, placeWindow, saveWindowState } from './window-state.js';

// A packaged build started with a debugger or sandbox switch quits before anything else happens.
const refused = app.isPackaged ? refusedSwitch(process.argv.slice(1)) : null;
if (refused !== null) {
  console.error(`[loupe] refusing to start with ${refused}: it would open the app to a debugger or weaken its sandbox`);
  app.exit(1);
}

// Main decodes nothing (see main/untrusted); should anything here ever reach libvips, only Loupe's loaders are there.
restrictImageLoaders();

/** The app root: dist/main/electron/main.js -> root (inside app.asar when packaged). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const paths = appPaths(root, app.getPath('userData'));

const log = (message: string) => console.error(`[loupe] ${message}`);

// Before 'ready': both schemes behave like https (standard, secure origin, fetch-able); nothing else is privileged.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
  { scheme: IMAGE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
]);

let window: BrowserWindow | null = null;
let recent: string[] = [];
let updater: Updater | null = null;

function emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
  if (window && !window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event, payload);
}

/** `--model-dir=DIR` adds a model folder searched first (development, tests). */
const extraModelDir = app.commandLine.getSwitchValue('model-dir');

const services = createServices({
  models: {
    shippedDir: paths.shippedModels,
    userDir: paths.userModels,
    extraFolders: extraModelDir ? [{ source: 'user' as const, dir: path.resolve(extraModelDir) }] : [],
    download: downloadSettingsFromEnv(process.env),
  },
  workerPort: () =>
    utilityProcessPort(
      utilityProcess.fork(workerEntryPath(), [], { serviceName: 'Loupe inference', stdio: 'inherit', env: workerProcessEnv() }),
    ),
  // Scan probes, display and thumbnails, model checks: every untrusted file is parsed there, never here.
  untrustedPort: () => utilityChild(utilityProcess.fork(untrustedEntryPath(), [], { serviceName: 'Loupe files', stdio: 'inherit' })),
  /** Box prompts: one worker for the open project, in a utility process of its own at normal priority. */
  prompt: {
    workerPort: () =>
      utilityProcessPort(
        utilityProcess.fork(workerEntryPath(), [], { serviceName: 'Loupe box prompts', stdio: 'inherit', env: promptWorkerEnv() }),
      ),
    cacheBytes: cacheBytesFromEnv(),
  },
  async chooseFile(purpose, projectFolder) {
    const shown = fileDialog(purpose, projectFolder);
    if (shown.kind === 'save') {
      const chosen = window ? await dialog.showSaveDialog(window, shown.options) : await dialog.showSaveDialog(shown.options);
      return chosen.canceled || !chosen.filePath ? null : savedPath('export-coco', chosen.filePath);
    }
    const chosen = window ? await dialog.showOpenDialog(window, shown.options) : await dialog.showOpenDialog(shown.options);
    return chosen.canceled ? null : (chosen.filePaths[0] ?? null);
  },
  emit,
  onProgress: (progress) => {
    const bar = progressBarState(progress);
    window?.setProgressBar(bar.value, { mode: bar.mode });
  },
  onFinished: (summary) => {
    if (Notification.isSupported()) new Notification({ ...runEndNotice(summary), silent: false }).show();
    if (window && !window.isFocused()) window.flashFrame(true);
  },
  /** Opening a project through any path (UI, menu, drop) also files it under Open Recent. */
  onOpened: async (store) => {
    recent = addRecent(recent, store.folder);
    await saveRecent(paths.recent, recent);
    rebuildMenu();
  },
  log,
});
const media = projectMedia(services);
const dispatch = createDispatcher(createHandlers(services), {
  onUnexpected: (error, channel) => log(`${channel}: ${(error as Error).stack ?? String(error)}`),
  localPaths: () => services.localPaths(),
});
const invoke = guardInvoke(dispatch, log);

/** `loupe <folder>`: the project is open before the UI first asks for it. */
async function openFromCommandLine(argv: readonly string[]): Promise<void> {
  const folder = folderFromArgv(argv, app.isPackaged);
  if (folder === null) return;
  await services.project.open(path.resolve(folder)).catch((error: unknown) =>
    dialog.showErrorBox('Could not open the folder', error instanceof Error ? error.message : String(error)));
}

function sendCommand(payload: EventPayload<'app.command'>): void {
  emit('app.command', payload);
}

/** Asks the UI to open a folder main chose (its dialog, Open Recent, a drop, a second launch), handed out as a handle. */
async function openFolderIfDirectory(folder: string): Promise<boolean> {
  const isDirectory = await stat(folder).then((info) => info.isDirectory(), () => false);
  if (isDirectory) sendCommand({ command: 'open-folder', folder: services.files.grant('project-folder', folder) });
  return isDirectory;
}

async function runMenuCommand(command: MenuCommand): Promise<void> {
  switch (command.type) {
    case 'open-folder': {
      const options = { title: 'Open image folder', properties: ['openDirectory' as const] };
      const chosen = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      if (!chosen.canceled && chosen.filePaths[0]) sendCommand({ command: 'open-folder', folder: services.files.grant('project-folder', chosen.filePaths[0]) });
      return;
    }
    case 'open-recent':
      if (!(await openFolderIfDirectory(command.folder))) {
        recent = removeRecent(recent, command.folder);
        await saveRecent(paths.recent, recent);
        rebuildMenu();
        await dialog.showMessageBox({ type: 'warning', message: `${command.folder} is no longer there`, detail: 'It was removed from the recent projects.' });
      }
      return;
    case 'clear-recent':
      recent = [];
      await saveRecent(paths.recent, recent);
      rebuildMenu();
      return;
    case 'show-model-folder':
      await mkdir(paths.userModels, { recursive: true });
      await shell.openPath(paths.userModels);
      return;
    case 'open-docs':
      await shell.openPath(paths.readme);
      return;
    case 'check-updates':
      await updater?.check(true);
      return;
    case 'import-model':
    case 'export-coco':
    case 'import-annotations':
    case 'undo':
    case 'redo':
      sendCommand({ command: command.type });
      return;
  }
}

function rebuildMenu(): void {
  const template = menuTemplate({
    platform: process.platform,
    appName: app.name,
    recent,
    projectOpen: services.project.current() !== null,
    isPackaged: app.isPackaged,
  });
  const onCommand = (command: MenuCommand) => void runMenuCommand(command).catch((error: unknown) => log(`menu ${command.type}: ${String(error)}`));
  Menu.setApplicationMenu(Menu.buildFromTemplate(toElectronMenu(template, onCommand)));
}

/** Every web contents ever created: no new windows, no navigation (a dropped folder opens instead), no webviews. */
function harden(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    const dropped = droppedPathFromUrl(event.url);
    if (dropped !== null) void openFolderIfDirectory(dropped);
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

const backgroundColor = () => (nativeTheme.shouldUseDarkColors ? '#1b1d21' : '#f6f7f9');

async function createWindow(): Promise<void> {
  const displays = [screen.getPrimaryDisplay(), ...screen.getAllDisplays().filter((d) => d.id !== screen.getPrimaryDisplay().id)];
  const placement = placeWindow(await loadWindowState(paths.windowState, log), displays.map((d) => d.workArea));
  const win = new BrowserWindow({
    ...(placement.x !== undefined && { x: placement.x, y: placement.y }),
    width: placement.width,
    height: placement.height,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'Loupe',
    icon: paths.icon,
    backgroundColor: backgroundColor(),
    webPreferences: {
      preload: paths.preload, // eng-disable PRELOAD_JS_CHECK (reviewed: it exposes only the contract Api, see preload-api.ts)
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      // Lets a folder dropped on the window reach 'will-navigate', where it is opened instead.
      navigateOnDragDrop: true,
      spellcheck: false,
      safeDialogs: true,
      // Middle-click could otherwise try to open links in new windows (denied anyway by setWindowOpenHandler).
      disableBlinkFeatures: 'Auxclick',
    },
  });
  window = win;
  if (placement.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  win.on('focus', () => win.flashFrame(false));

  let closing = false;
  win.on('close', (event) => {
    if (closing) return;
    // Save where the window is and end a run cleanly (results in flight are written) before it goes.
    event.preventDefault();
    closing = true;
    const state = { bounds: win.getNormalBounds(), maximized: win.isMaximized() };
    void Promise.allSettled([saveWindowState(paths.windowState, state), services.close()]).then(() => win.destroy());
  });
  win.on('closed', () => {
    window = null;
  });
  await win.loadURL(APP_ENTRY);
}

async function ready(): Promise<void> {
  nativeTheme.themeSource = 'system';
  nativeTheme.on('updated', () => window?.setBackgroundColor(backgroundColor()));

  const defaultSession = session.defaultSession;
  defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  defaultSession.setPermissionCheckHandler(() => false);
  // Nothing in the app talks to the network; refuse it even if a bug tried.
  defaultSession.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_details, callback) =>
    callback({ cancel: true }),
  );
  protocol.handle(APP_SCHEME, createAppProtocolHandler(paths.renderer, log));
  protocol.handle(IMAGE_SCHEME, createImageProtocolHandler({ media, log }));

  ipcMain.handle(INVOKE_CHANNEL, (event, channel: unknown, request: unknown) => invoke(event.senderFrame?.url, channel, request));

  recent = await loadRecent(paths.recent, log);
  rebuildMenu();
  await openFromCommandLine(process.argv);
  await createWindow();
  updater = await createUpdater({ isPackaged: app.isPackaged, resourcesPath: process.resourcesPath }, { log, tell: tellAboutUpdate });
  void updater.check(false);
}

function tellAboutUpdate(message: string, detail: string, interactive: boolean): void {
  if (interactive) {
    const options = { type: 'info' as const, message, detail };
    void (window ? dialog.showMessageBox(window, options) : dialog.showMessageBox(options));
  } else if (Notification.isSupported()) {
    new Notification({ title: message, body: detail }).show();
  }
}

if (refused !== null || !app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', (_event, argv, workingDirectory) => {
    if (window?.isMinimized()) window.restore();
    window?.focus();
    const folder = folderFromArgv(argv, app.isPackaged);
    if (folder !== null) void openFolderIfDirectory(path.resolve(workingDirectory, folder));
  });
  app.on('web-contents-created', (_event, contents) => harden(contents));
  app.on('window-all-closed', () => app.quit());
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0 && app.isReady()) void createWindow();
  });
  app.whenReady().then(ready, (error: unknown) => {
    log(`startup failed: ${(error as Error).stack ?? String(error)}`);
    app.exit(1);
  });
}
