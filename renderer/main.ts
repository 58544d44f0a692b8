// Entry point of the renderer bundle.
import { App } from './ui/app.js';
import { connectApi } from './ui/api.js';

declare global {
  interface Window {
    /** The running app, for the e2e tests and the canvas benchmark: `__loupe.session` is the review session. */
    __loupe?: App;
  }
}

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  try {
    const app = new App(root, await connectApi());
    window.__loupe = app;
    window.addEventListener('pagehide', () => app.dispose(), { once: true });
    await app.start();
    root.dataset.ready = 'true';
  } catch (error) {
    root.textContent = `Loupe could not start: ${error instanceof Error ? error.message : String(error)}`;
    root.dataset.ready = 'error';
  }
}

void main();
