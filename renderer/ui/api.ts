// The renderer's one way to main: the preload's Api when Electron provides it, else the bridge's WebSocket.
import type { RendererApi } from '../../app/ipc/contract.js';
import { createSocketApi } from '../../app/ipc/socket-client.js';

declare global {
  interface Window {
    /** Set by the Electron preload. */
    loupe?: RendererApi;
  }
}

export async function connectApi(): Promise<RendererApi> {
  if (window.loupe) return window.loupe;
  // The bridge's session cookie (set when the printed address was opened) authorises the socket.
  const socket = new WebSocket(`ws://${location.host}/ipc`);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('could not connect to Loupe (is `loupe serve` still running?)')), { once: true });
  });
  socket.addEventListener('close', () => {
    const banner = document.createElement('div');
    banner.className = 'disconnected';
    banner.dataset.testid = 'disconnected';
    banner.textContent = 'The connection to Loupe was lost. Edits saved so far are kept; start `loupe serve` again and reload this page.';
    document.body.append(banner);
  });
  return createSocketApi(socket, location.origin);
}
