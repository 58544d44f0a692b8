// The sandboxed preload: exposes exactly the contract's Api as window.loupe, nothing else. Bundled to
// CommonJS (dist/electron/preload.cjs) by `npm run build:electron`, since sandboxed preloads cannot import.
import { contextBridge, ipcRenderer } from 'electron';
import { createPreloadApi } from './preload-api.js';

contextBridge.exposeInMainWorld('loupe', createPreloadApi(ipcRenderer));
