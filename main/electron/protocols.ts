// The two custom protocols as fetch-style handlers (Request in, Response out), which is exactly what
// Electron's protocol.handle takes; written without electron so they are tested under Node.
//   app://loupe/<file>            the packaged renderer (dist/renderer), with the CSP on every response
//   loupe-image://files/<path>    an image of the open project folder, EXIF orientation applied
//   loupe-image://thumbs/<path>   its cached thumbnail
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveLexically, UnsafePathError, type MediaService } from '../media/index.js';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, IMAGE_SCHEME, SECURITY_HEADERS } from './security.js';

export type ProtocolHandler = (request: Request) => Promise<Response>;

const STATIC_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.wasm': 'application/wasm',
};

function respond(status: number, body: Uint8Array | string, type: string, extra: Record<string, string> = {}, head = false): Response {
  return new Response(head ? null : body, { status, headers: { ...SECURITY_HEADERS, 'Content-Type': type, ...extra } });
}

function text(status: number, message: string): Response {
  return respond(status, message, 'text/plain; charset=utf-8');
}

/** The part of `url` after `<scheme>://<host>/`, still percent-encoded; null when scheme or host differ. */
function rawPathAfter(url: string, scheme: string, host: string): string | null {
  const prefix = `${scheme}://${host}`;
  if (!url.toLowerCase().startsWith(prefix)) return null;
  const rest = url.slice(prefix.length).split(/[?#]/, 1)[0]!;
  if (rest !== '' && !rest.startsWith('/')) return null;
  return rest.slice(1);
}

async function guarded(request: Request, log: (message: string) => void, serve: () => Promise<Response>): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed');
  try {
    return await serve();
  } catch (error) {
    if (error instanceof UnsafePathError) return text(error.status, error.message);
    log(`protocol: ${request.url}: ${(error as Error).stack ?? String(error)}`);
    return text(500, 'internal error');
  }
}

export function createAppProtocolHandler(rendererDir: string, log: (message: string) => void = () => {}): ProtocolHandler {
  return (request) =>
    guarded(request, log, async () => {
      const raw = rawPathAfter(request.url, APP_SCHEME, APP_HOST);
      if (raw === null) return text(404, 'not an app:// URL of Loupe');
      // The renderer's files sit in the app's asar archive when packaged: checked by path, then read.
      const encoded = raw === '' ? 'index.html' : raw;
      const file = resolveLexically(rendererDir, encoded);
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new UnsafePathError(encoded, 'not-found');
        if (code === 'EISDIR') throw new UnsafePathError(encoded, 'not-a-file');
        throw error;
      }
      const type = STATIC_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      return respond(200, body, type, { 'Cache-Control': 'no-cache' }, request.method === 'HEAD');
    });
}

export interface ImageProtocolOptions {
  /** The open project's images (main/media: the one confinement check, decoding out of main). */
  readonly media: MediaService;
  readonly log?: (message: string) => void;
}

export function createImageProtocolHandler(options: ImageProtocolOptions): ProtocolHandler {
  const log = options.log ?? (() => {});
  return (request) =>
    guarded(request, log, async () => {
      const kind = request.url.toLowerCase().startsWith(`${IMAGE_SCHEME}://thumbs/`) ? 'thumbs' : 'files';
      const raw = rawPathAfter(request.url, IMAGE_SCHEME, kind);
      if (raw === null) return text(404, 'expected loupe-image://files/<path> or loupe-image://thumbs/<path>');
      const reply = await options.media.get(kind, raw);
      if (reply.status !== 200) return text(reply.status, reply.message);
      const { media } = reply;
      // CORS for our page only: an <img crossorigin> from app://loupe can then be read back from a canvas untainted.
      const headers = { 'Cache-Control': 'private, max-age=3600', 'Access-Control-Allow-Origin': APP_ORIGIN, Vary: 'Origin' };
      return respond(200, media.body, media.type, headers, request.method === 'HEAD');
    });
}
