// The desktop window's security rules as plain data and pure checks, so they are tested under Node;
// main.ts only hands them to Electron.

/** The renderer's origin: packaged files served by the `app://` protocol, never file:// or a dev server. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'loupe';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/** Image bytes and thumbnails of the open project folder: loupe-image://files/<path>, loupe-image://thumbs/<path>. */
export const IMAGE_SCHEME = 'loupe-image';

/**
 * Content-Security-Policy of every app:// response. Scripts and styles only from the packaged files
 * (Konva draws on canvases, so no inline script is needed), images from the project protocol, no
 * network at all: IPC goes through the preload, not fetch or WebSocket.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'self'`,
  // Inline style attributes are set by the UI; no style can run code.
  `style-src 'self' 'unsafe-inline'`,
  `img-src 'self' ${IMAGE_SCHEME}: blob: data:`,
  `font-src 'self'`,
  `connect-src 'self' ${IMAGE_SCHEME}:`,
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every app:// and loupe-image:// response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * True when an IPC message comes from our own page: the sending frame's URL is on the app:// origin.
 * Anything else (a frame that navigated away, an embedded page, a devtools extension) is refused.
 */
export function isTrustedSenderUrl(url: string | undefined | null): boolean {
  if (typeof url !== 'string' || url === '') return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST && parsed.username === '' && parsed.password === '';
}

/**
 * A folder dropped on the window makes Chromium navigate to its file:// URL; navigation is refused,
 * and this turns such a URL into the dropped path (null for anything that is not a local file URL).
 */
export function droppedPathFromUrl(url: string, platform: NodeJS.Platform = process.platform): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'file:' || (parsed.host !== '' && parsed.host !== 'localhost')) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const withoutSlash = decoded.length > 1 ? decoded.replace(/\/+$/, '') : decoded;
  if (platform === 'win32') {
    // file:///C:/Users/x -> C:\Users\x
    return withoutSlash.replace(/^\/([a-zA-Z]:)/, '$1').replaceAll('/', '\\');
  }
  return withoutSlash;
}

/**
 * The project folder named on the command line (`loupe <folder>`, or `electron . <folder>` in
 * development), if any; Chromium and Electron switches (`--x`) are skipped.
 */
export function folderFromArgv(argv: readonly string[], isPackaged: boolean): string | null {
  const operands = argv.slice(isPackaged ? 1 : 2).filter((arg) => !arg.startsWith('-'));
  return operands[0] ?? null;
}

/**
 * Command-line switches a packaged build refuses to start with: each opens a debugger or an automation
 * channel into the app (Chromium's DevTools protocol, Node's inspector) or weakens its sandbox, which
 * would let whoever starts the signed app run code with its identity. The fuses already make Node
 * ignore its inspector flags; the app quits rather than run half-hardened.
 */
export const REFUSED_SWITCHES: readonly string[] = [
  'remote-debugging-port', 'remote-debugging-pipe', 'remote-debugging-address', 'remote-debugging-io-pipes',
  'remote-allow-origins', 'auto-open-devtools-for-tabs',
  'inspect', 'inspect-brk', 'inspect-port', 'inspect-wait', 'inspect-publish-uid', 'inspect-brk-node', 'debug', 'debug-brk', 'debug-port',
  'js-flags', 'no-sandbox', 'disable-web-security',
];

/**
 * The first refused switch among `args` (argv without the executable), or null. Chromium reads `--x`
 * and `-x` (and `/x` on Windows) alike, with or without `=value`, so all spellings count, in any case,
 * and even after a `--`: a folder named like a switch is not worth the doubt.
 */
export function refusedSwitch(args: readonly string[], platform: NodeJS.Platform = process.platform): string | null {
  const prefix = platform === 'win32' ? /^(--|-|\/)/ : /^(--|-)/;
  for (const arg of args) {
    const match = prefix.exec(arg);
    if (!match) continue;
    const name = arg.slice(match[0].length).split('=')[0]!.toLowerCase();
    if (REFUSED_SWITCHES.includes(name)) return arg.split('=')[0]!;
  }
  return null;
}
