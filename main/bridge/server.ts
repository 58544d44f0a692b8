// The local bridge: serves the built renderer, image bytes and thumbnails from the open project's folder,
// and carries the IPC contract over a WebSocket. Listens on 127.0.0.1 only. The URL it prints carries a
// one-time token; the first page load exchanges it for an HttpOnly, SameSite=Strict session cookie named
// after this port and is redirected to the same address without the token. From then on every HTTP
// request and the WebSocket handshake must present that cookie; the used token opens nothing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_PAYLOAD_BYTES, type EventName, type EventPayload, type ServerMessage } from '../../app/ipc/contract.js';
import { decodeRequest, type Dispatch } from '../ipc/dispatcher.js';
import { resolveInsideRoot, UnsafePathError, type MediaService } from '../media/index.js';

export interface BridgeOptions {
  /** The open project's images and thumbnails (main/media). */
  readonly media: MediaService;
  /** The built renderer (index.html, app.js, ...). */
  readonly rendererDir: string;
  readonly dispatch: Dispatch;
  /** 0 or absent picks a free port. */
  readonly port?: number;
  /** Fixed one-time token for the URL (tests); a random one otherwise. */
  readonly token?: string;
  readonly log?: (message: string) => void;
}

export interface Bridge {
  /** The URL to open, once: it carries the one-time token that the first load exchanges for a session cookie. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  /** The session cookie's name, `loupe_session_<port>`: one per bridge, so bridges on other ports never read each other's. */
  readonly cookieName: string;
  /**
   * A new session for a client in this process that opens no page (tests, tools): the value of a
   * `Cookie` header, `loupe_session_<port>=<secret>`.
   */
  newSession(): string;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  close(): Promise<void>;
}

const STATIC_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
};

const CSP = [
  "default-src 'self'", "img-src 'self' blob: data:", "style-src 'self'",
  "script-src 'self'", "connect-src 'self' ws://127.0.0.1:*", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  let launchToken: string | null = options.token ?? randomBytes(24).toString('base64url');
  const printedToken = launchToken;
  const log = options.log ?? (() => {});
  let port = 0;
  const cookieName = () => `loupe_session_${port}`;
  /** sha256 of each live session secret: a lookup compares digests, never the secrets themselves. */
  const sessions = new Set<string>();

  const startSession = (): string => {
    const secret = randomBytes(32).toString('base64url');
    sessions.add(digest(secret));
    return secret;
  };
  const hasSession = (req: IncomingMessage): boolean => {
    const presented = readCookie(req.headers.cookie, cookieName());
    return presented !== null && sessions.has(digest(presented));
  };
  /** The one-time token, accepted once: the exchange forgets it. */
  const takeLaunchToken = (presented: string): boolean => {
    if (launchToken === null || !sameSecret(presented, launchToken)) return false;
    launchToken = null;
    return true;
  };
  const sessionCookie = (secret: string) => `${cookieName()}=${secret}; HttpOnly; SameSite=Strict; Path=/`;

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      log(`bridge: ${req.method} ${req.url}: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!hostAllowed(req.headers.host, port)) return send(res, 403, 'text/plain; charset=utf-8', 'not this server');
    const presentedToken = url.searchParams.get('token');
    if (presentedToken !== null) return exchange(req, res, url, presentedToken);
    if (!hasSession(req)) return send(res, 403, 'text/plain; charset=utf-8', 'no session: open the address `loupe serve` printed');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    // The raw (still percent-encoded) path: the confinement check decodes it exactly once itself.
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const route = /^\/(files|thumbs)\/(.+)$/.exec(rawPath);
    try {
      if (route) {
        const reply = await options.media.get(route[1] as 'files' | 'thumbs', route[2]!);
        if (reply.status !== 200) return send(res, reply.status, 'text/plain; charset=utf-8', reply.message);
        return send(res, 200, reply.media.type, reply.media.body, { 'Cache-Control': 'private, max-age=3600' });
      }
      const asset = rawPath === '/' ? 'index.html' : rawPath.slice(1);
      const file = await resolveInsideRoot(options.rendererDir, asset);
      const type = STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream';
      return send(res, 200, type, await readFile(file), { 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' });
    } catch (error) {
      if (error instanceof UnsafePathError) return send(res, error.status, 'text/plain; charset=utf-8', error.message);
      throw error;
    }
  }


  /**
   * A request whose address carries `token=`: the unused one-time token becomes a session cookie; a
   * browser that already has a session is let through. Either way it is sent on to the same address
   * without the token, so the secret leaves the address bar and the history.
   */
  function exchange(req: IncomingMessage, res: ServerResponse, url: URL, presented: string): void {
    // Only a page load spends the token: a HEAD (a link preview, a prefetch) must not.
    if (req.method !== 'GET') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (takeLaunchToken(presented)) headers['Set-Cookie'] = sessionCookie(startSession());
    else if (!hasSession(req)) {
      return send(res, 403, 'text/plain; charset=utf-8', 'this link was already used or is wrong: restart `loupe serve` for a new one');
    }
    url.searchParams.delete('token');
    // Always a path on this server: `//host` would be read as another site.
    const rawPath = (req.url ?? '/').split('?')[0]!.replace(/^[/\\]+/, '');
    return send(res, 303, 'text/plain; charset=utf-8', 'see the address without the token', { ...headers, Location: `/${rawPath}${url.search}` });
  }

  const sockets = new WebSocketServer({
    noServer: true,
    // Hard cap; messages between MAX_PAYLOAD_BYTES and this are answered with a 'too-large' reply.
    maxPayload: MAX_PAYLOAD_BYTES * 2,
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = req.headers.origin;
    const originOk = origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (url.pathname !== '/ipc' || !hostAllowed(req.headers.host, port) || !hasSession(req) || !originOk) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  function serveSocket(ws: WebSocket): void {
    ws.on('error', (error) => log(`bridge socket: ${error.message}`));
    ws.on('message', (data, isBinary) => {
      const raw = isBinary ? '' : data.toString();
      const decoded = decodeRequest(raw);
      if (!decoded.ok) {
        reply(ws, { kind: 'reply', id: decoded.id ?? -1, reply: { ok: false, error: { code: decoded.code, message: decoded.message } } });
        return;
      }
      void options.dispatch(decoded.channel, decoded.request).then((result) => reply(ws, { kind: 'reply', id: decoded.id, reply: result }));
    });
  }

  function reply(ws: WebSocket, message: ServerMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bridge: server has no TCP address');
  port = address.port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/?token=${printedToken}`,
    origin,
    port,
    cookieName: cookieName(),
    newSession: () => `${cookieName()}=${startSession()}`,
    emit(event, payload) {
      const message = JSON.stringify({ kind: 'event', event, payload } satisfies ServerMessage);
      for (const ws of sockets.clients) if (ws.readyState === ws.OPEN) ws.send(message);
    },
    async close() {
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

function sameSecret(presented: string, token: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Refuses requests whose Host is not this loopback server, so a DNS-rebinding page cannot reach it. */
function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}
