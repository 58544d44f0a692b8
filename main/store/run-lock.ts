// One pre-label run per project at a time, across processes (the CLI, the desktop app): a single row in run_lock
// holds the owner's pid, host and token, and the run's progress so another process can show it. A row whose owner
// is gone (its pid dead on this host, or no heartbeat for a minute from another host) is taken over.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from 'better-sqlite3';
import { ModelId, RunId } from '../../app/model/index.js';
import { ConflictError } from '../../app/model/errors.js';

export type RunLockState = 'starting' | 'running' | 'paused';

export interface RunLockInfo {
  readonly pid: number;
  readonly host: string;
  /** ISO 8601 times. */
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Null while the run is being set up (scanning, loading the model). */
  readonly runId: RunId | null;
  readonly modelId: ModelId | null;
  readonly state: RunLockState;
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  /** True when this process holds it. */
  readonly ownedHere: boolean;
}

/** Another live process holds the project's run lock. */
export class RunLockedError extends ConflictError {
  override name = 'RunLockedError';
  constructor(readonly holder: RunLockInfo) {
    const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
    super(`a pre-label run is already in progress (pid ${holder.pid}${where}, started ${clockTime(holder.startedAt)})`);
  }
}

/** The lock this process holds; release it when the run ends, however it ends. */
export interface RunLock {
  /** Records the run's progress (and refreshes the heartbeat). */
  update(progress: Partial<Pick<RunLockInfo, 'runId' | 'modelId' | 'state' | 'total' | 'done' | 'failed'>>): void;
  heartbeat(): void;
  release(): void;
}

/** How long another host's lock lives without a heartbeat; the owner beats every HEARTBEAT_MS. */
export const HEARTBEAT_MS = 5_000;
const OTHER_HOST_STALE_MS = 60_000;

const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

interface LockRow {
  token: string;
  pid: number;
  host: string;
  started_at: string;
  heartbeat_at: string;
  run_id: number | null;
  model_id: number | null;
  state: RunLockState;
  total: number;
  done: number;
  failed: number;
}

export class RunLockRepository {
  /** Tokens of the locks this connection's process holds. */
  private readonly held = new Set<string>();

  constructor(private readonly db: Database) {}

  /** Takes the project's run lock, or throws RunLockedError naming the live owner. One transaction, IMMEDIATE. */
  acquire(): RunLock {
    const token = randomUUID();
    this.db
      .transaction(() => {
        const row = this.row();
        if (row && this.isLive(row)) throw new RunLockedError(this.toInfo(row));
        this.db.prepare(`DELETE FROM run_lock`).run();
        this.db.prepare(`INSERT INTO run_lock (id, token, pid, host) VALUES (1, ?, ?, ?)`).run(token, process.pid, hostname());
      })
      .immediate();
    this.held.add(token);
    const columns = { runId: 'run_id', modelId: 'model_id', state: 'state', total: 'total', done: 'done', failed: 'failed' } as const;
    return {
      update: (progress) => {
        const set = Object.entries(progress)
          .filter(([, value]) => value !== undefined)
          .map(([key]) => `${columns[key as keyof typeof columns]} = @${key}`);
        this.db.prepare(`UPDATE run_lock SET ${[...set, `heartbeat_at = ${now}`].join(', ')} WHERE token = @token`).run({ ...progress, token });
      },
      heartbeat: () => {
        if (this.db.open) this.db.prepare(`UPDATE run_lock SET heartbeat_at = ${now} WHERE token = ?`).run(token);
      },
      release: () => {
        this.held.delete(token);
        if (this.db.open) this.db.prepare(`DELETE FROM run_lock WHERE token = ?`).run(token);
      },
    };
  }

  /** The live run of the project, held by any process, or null when there is none (or its owner is gone). */
  current(): RunLockInfo | null {
    const row = this.row();
    return row && this.isLive(row) ? this.toInfo(row) : null;
  }

  private row(): LockRow | undefined {
    return this.db.prepare(`SELECT * FROM run_lock WHERE id = 1`).get() as LockRow | undefined;
  }

  private isLive(row: LockRow): boolean {
    if (this.held.has(row.token)) return true;
    if (row.host !== hostname()) return Date.now() - Date.parse(row.heartbeat_at) < OTHER_HOST_STALE_MS;
    return processAlive(row.pid);
  }

  private toInfo(row: LockRow): RunLockInfo {
    return {
      pid: row.pid,
      host: row.host,
      startedAt: row.started_at,
      heartbeatAt: row.heartbeat_at,
      runId: row.run_id === null ? null : RunId(row.run_id),
      modelId: row.model_id === null ? null : ModelId(row.model_id),
      state: row.state,
      total: row.total,
      done: row.done,
      failed: row.failed,
      ownedHere: this.held.has(row.token),
    };
  }
}

/** Whether a process of this machine is alive (one of another user's counts: signalling it is merely not allowed). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** HH:MM in local time, as a person reads a start time. */
function clockTime(iso: string): string {
  const date = new Date(iso);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}
