// The two Electron IPC channels between the preload and main; contract channel names travel inside them. Apart from
// ipc-guard.ts so the preload bundle takes these names and nothing of main's dispatcher.
export const INVOKE_CHANNEL = 'loupe:invoke';
export const EVENT_CHANNEL = 'loupe:event';
