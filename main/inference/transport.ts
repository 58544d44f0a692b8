// The worker's side of its port, whichever process model hosts it: a worker_threads Worker, an Electron
// utilityProcess (process.parentPort, whose messages arrive wrapped in an event's `data`), or a forked child process.
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
  if (process.send) {
    const send = process.send.bind(process);
    // An orphaned worker would hold the model in memory forever: leave when the parent's channel closes. A reply
    // that finds the parent gone (EPIPE before 'disconnect' arrives) is the same news, not an error to print.
    const leave = () => process.exit(0);
    process.on('disconnect', leave);
    return {
      post: (message) => {
        if (!process.connected) return leave();
        send(message, (error: Error | null) => {
          if (error) leave();
        });
      },
      onMessage: (listener) => process.on('message', (message) => listener(message as WorkerRequest)),
    };
  }
  throw new Error('the inference worker must run in a worker thread, an Electron utility process or a forked process');
}
