// Whether and how the desktop app updates itself, decided from plain data so it is tested under Node;
// updater.ts hands the plan to electron-updater.
//
// The feed is the `publish` configuration electron-builder wrote into the package (app-update.yml), or
// one named in the environment. An update is installed only where the platform's updater checks the
// installer's signature before running it: Squirrel.Mac checks the code signature against the running
// app's, and on Windows electron-updater checks the Authenticode publisher, but only when the build was
// signed (electron-builder then records the publisher in app-update.yml). Linux packages carry no
// signature electron-updater can check, so there a new version is announced, not installed.

export type UpdateFeed =
  | { readonly provider: 'github'; readonly owner: string; readonly repo: string }
  | { readonly provider: 'generic'; readonly url: string };

export type UpdatePlan =
  | { readonly mode: 'off'; readonly reason: string }
  | {
      /** install: download in the background and install on quit; notify: only say that a version is out. */
      readonly mode: 'install' | 'notify';
      /** A feed to set; null when electron-updater reads the packaged app-update.yml itself. */
      readonly feed: UpdateFeed | null;
      /** Where the feed came from, for the log and the About box. */
      readonly source: string;
    };

export interface UpdateContext {
  readonly isPackaged: boolean;
  readonly platform: NodeJS.Platform;
  /** LOUPE_UPDATES=off, LOUPE_UPDATE_URL=https://…, LOUPE_UPDATE_GITHUB=owner/repo. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The packaged app-update.yml, parsed; null when the build has none. */
  readonly packaged: Readonly<Record<string, unknown>> | null;
}

export function planUpdates(context: UpdateContext): UpdatePlan {
  const { env, packaged } = context;
  if (!context.isPackaged) return off('updates are off in development: this app is not a packaged build');
  if (env.LOUPE_UPDATES?.toLowerCase() === 'off') return off('updates were turned off with LOUPE_UPDATES=off');

  let feed: UpdateFeed | null = null;
  let source: string;
  if (env.LOUPE_UPDATE_URL) {
    const url = httpsUrl(env.LOUPE_UPDATE_URL);
    if (url === null) return off(`LOUPE_UPDATE_URL must be an https URL, not "${env.LOUPE_UPDATE_URL}"`);
    feed = { provider: 'generic', url };
    source = 'LOUPE_UPDATE_URL';
  } else if (env.LOUPE_UPDATE_GITHUB) {
    const match = /^([\w.-]+)\/([\w.-]+)$/.exec(env.LOUPE_UPDATE_GITHUB);
    if (!match) return off(`LOUPE_UPDATE_GITHUB must be owner/repository, not "${env.LOUPE_UPDATE_GITHUB}"`);
    feed = { provider: 'github', owner: match[1]!, repo: match[2]! };
    source = 'LOUPE_UPDATE_GITHUB';
  } else {
    if (packaged === null) return off('this build was made without an update feed (electron-builder `publish`; see the README, Updates)');
    const provider = packaged.provider;
    if (provider === 'generic') {
      if (typeof packaged.url !== 'string' || httpsUrl(packaged.url) === null) {
        return off(`the packaged update feed ${String(packaged.url)} is not an https URL`);
      }
    } else if (provider !== 'github') {
      return off(`the packaged update feed's provider "${String(provider)}" is not one Loupe uses (github or generic)`);
    }
    source = 'app-update.yml';
  }

  if (context.platform === 'win32' && !hasPublisher(packaged)) {
    return off('this Windows build is not code-signed, so the signature of a downloaded update could not be checked');
  }
  return { mode: context.platform === 'linux' ? 'notify' : 'install', feed, source };
}

function off(reason: string): UpdatePlan {
  return { mode: 'off', reason };
}

function httpsUrl(text: string): string | null {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' && url.username === '' && url.password === '' ? url.href : null;
  } catch {
    return null;
  }
}

function hasPublisher(packaged: Readonly<Record<string, unknown>> | null): boolean {
  const names = packaged?.publisherName;
  const list = Array.isArray(names) ? names : [names];
  return list.some((name) => typeof name === 'string' && name.trim() !== '');
}
