// The two ends of the channel to a child process, whichever hosts it: a forked Node process (the CLI, `loupe serve`,
// tests) or an Electron utilityProcess (the desktop app). The same pattern as the inference worker's (WorkerPort,
// parentTransport in main/inference), for any request and reply types.
import { fork } from 'node:child_process';

export interface ChildPort<In, Out> {
  /** The child's process id, where known (tests kill it to stand for a crash). */
  readonly pid?: number | undefined;
  postMessage(message: In): void;
  onMessage(listener: (message: Out) => void): void;
  /** Called once if the child ends (a crash, a kill, out of memory), with how it ended. */
  onExit(listener: (how: string) => void): void;
  terminate(): Promise<void>;
}

/** A forked Node process running `entry` (structured-clone messages, so Buffers cross as bytes). */
export function forkedChild<In, Out>(entry: string, env: NodeJS.ProcessEnv = process.env): ChildPort<In, Out> {
  const child = fork(entry, [], { env, execArgv: [], serialization: 'advanced', stdio: 'inherit' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  return {
    pid: child.pid,
    postMessage: (message) => void child.send(message as never),
    onMessage: (listener) => child.on('message', (message) => listener(message as Out)),
    onExit: (listener) => {
      let told = false;
      const tell = (how: string) => {
        if (!told) listener(how);
        told = true;
      };
      child.on('error', (error) => tell(`failed: ${error.message}`));
      child.on('exit', (code, signal) => {
        running = false;
        tell(signal ? `was killed by ${signal}` : `exited with code ${code}`);
      });
    },
    terminate: async () => {
      if (running) child.kill();
      await exited;
    },
  };
}

/** The shape of Electron's UtilityProcess used here (structural, so this folder needs no electron import). */
export interface UtilityProcessLike {
  readonly pid?: number | undefined;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/** Adapts `utilityProcess.fork(entry)`. */
export function utilityChild<In, Out>(child: UtilityProcessLike): ChildPort<In, Out> {
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  return {
    get pid() {
      return child.pid;
    },
    postMessage: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (message) => listener(message as Out)),
    onExit: (listener) => child.on('exit', (code) => listener(`exited with code ${code}`)),
    terminate: async () => {
      if (!exited) child.kill();
      await gone;
    },
  };
}

export interface ParentChannel<In, Out> {
  post(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

/** The child's end: Electron's process.parentPort in a utilityProcess, the IPC channel in a forked process. */
export function parentChannel<In, Out>(): ParentChannel<In, Out> {
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort) {
    return {
      post: (message) => electronPort.postMessage(message),
      onMessage: (listener) => electronPort.on('message', (event) => listener(event.data as In)),
    };
  }
  if (process.send) {
    const send = process.send.bind(process);
    // An orphan would hold its memory forever: leave when the parent's channel closes (even after kill -9).
    const leave = () => process.exit(0);
    process.on('disconnect', leave);
    return {
      post: (message) => {
        if (!process.connected) return leave();
        send(message, (error: Error | null) => {
          if (error) leave();
        });
      },
      onMessage: (listener) => process.on('message', (message) => listener(message as In)),
    };
  }
  throw new Error('this process must run as an Electron utility process or a forked child process');
}
