// The worker's side of its port, whichever process model hosts it: a worker_threads Worker under Node, or an
// Electron utilityProcess (process.parentPort, whose messages arrive wrapped in an event's `data`).
import { parentPort } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

export interface ParentTransport {
  post(message: WorkerResponse): void;
  onMessage(listener: (message: WorkerRequest) => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

export function parentTransport(): ParentTransport {
  if (parentPort) {
    const port = parentPort;
    return {
      post: (message) => port.postMessage(message),
      onMessage: (listener) => port.on('message', (message: WorkerRequest) => listener(message)),
    };
  }
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort) {
    return {
      post: (message) => electronPort.postMessage(message),
      onMessage: (listener) => electronPort.on('message', (event) => listener(event.data as WorkerRequest)),
    };
  }
  throw new Error('the inference worker must run in a worker thread or an Electron utility process');
}
