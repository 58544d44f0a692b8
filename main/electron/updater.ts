// Hands an UpdatePlan (update-policy.ts) to electron-updater: a background check at start, and
// Help > Check for Updates. Only main.ts imports this (it needs Electron at run time).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { session } from 'electron';
import electronUpdater from 'electron-updater';
import { parse } from 'yaml';
import { planUpdates, type UpdatePlan } from './update-policy.js';

export interface UpdaterHooks {
  readonly log: (message: string) => void;
  /** A message box (interactive checks) or a notification (background ones). */
  readonly tell: (message: string, detail: string, interactive: boolean) => void;
}

export interface Updater {
  readonly plan: UpdatePlan;
  /** Checks the feed; `interactive` (the menu) also reports "no update" and "updates are off". */
  check(interactive: boolean): Promise<void>;
}

/** The packaged app-update.yml (electron-builder's `publish`), parsed; null when there is none. */
export async function readPackagedFeed(resourcesPath: string): Promise<Record<string, unknown> | null> {
  try {
    const parsed: unknown = parse(await readFile(path.join(resourcesPath, 'app-update.yml'), 'utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export async function createUpdater(context: { isPackaged: boolean; resourcesPath: string }, hooks: UpdaterHooks): Promise<Updater> {
  const plan = planUpdates({
    isPackaged: context.isPackaged,
    platform: process.platform,
    env: process.env,
    packaged: context.isPackaged ? await readPackagedFeed(context.resourcesPath) : null,
  });
  if (plan.mode === 'off') {
    hooks.log(`updates: ${plan.reason}`);
    return {
      plan,
      async check(interactive) {
        if (interactive) hooks.tell('Updates are off', plan.reason, true);
      },
    };
  }

  // electron-updater fetches through its own session: there, nothing but https.
  session.fromPartition('electron-updater', { cache: false }).webRequest.onBeforeRequest(
    { urls: ['http://*/*', 'ws://*/*'] },
    (_details, callback) => callback({ cancel: true }),
  );
  const updater = electronUpdater.autoUpdater;
  updater.logger = { info: () => {}, debug: () => {}, warn: (m: unknown) => hooks.log(`updates: ${String(m)}`), error: (m: unknown) => hooks.log(`updates: ${String(m)}`) };
  updater.autoDownload = plan.mode === 'install';
  updater.autoInstallOnAppQuit = plan.mode === 'install';
  updater.allowDowngrade = false;
  updater.allowPrerelease = false;
  updater.disableWebInstaller = true;
  if (plan.feed !== null) updater.setFeedURL(plan.feed);
  hooks.log(`updates: ${plan.mode === 'install' ? 'installed on quit' : 'announced only'}, feed from ${plan.source}`);

  updater.on('update-downloaded', (info: { version: string }) =>
    hooks.tell(`Loupe ${info.version} is ready`, 'It is installed when you quit Loupe.', false),
  );

  return {
    plan,
    async check(interactive) {
      try {
        const result = await updater.checkForUpdates();
        const version = result?.updateInfo.version;
        if (result?.isUpdateAvailable && version !== undefined) {
          const detail = plan.mode === 'install'
            ? 'It is being downloaded and will be installed when you quit Loupe.'
            : 'Install it with your package manager, or download the new AppImage from the release page.';
          hooks.tell(`Loupe ${version} is available`, detail, interactive);
        } else if (interactive) {
          hooks.tell('Loupe is up to date', `You have version ${updater.currentVersion.version}.`, true);
        }
      } catch (error) {
        hooks.log(`updates: check failed: ${error instanceof Error ? error.message : String(error)}`);
        if (interactive) hooks.tell('Could not check for updates', error instanceof Error ? error.message : String(error), true);
      }
    },
  };
}
