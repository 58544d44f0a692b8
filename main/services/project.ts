// The open project: one image folder's store at a time, opened and scanned on request.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ProjectSummary } from '../../app/ipc/contract.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../app/model/errors.js';
import { openProject, type ProjectStore } from '../store/index.js';

export interface ProjectService {
  /** The open project; null when none is. */
  current(): ProjectStore | null;
  /** The open project; a ConflictError when none is. */
  require(): ProjectStore;
  /** Opens `folder` (an absolute path main chose) as the project, scanning it; the previous one is closed first. */
  open(folder: string): Promise<ProjectStore>;
  summary(): ProjectSummary;
  /** Closes the open project (after `beforeClose`). */
  close(): Promise<void>;
}

export interface ProjectServiceOptions {
  /** Brings the folder's images into the store (the scan, its decoding in a process of its own). */
  readonly scan: (store: ProjectStore) => Promise<unknown>;
  /** Runs before the open project is closed or replaced (a pre-label run on it is ended first). */
  readonly beforeClose?: () => Promise<void>;
  /** Runs after a folder is opened (the desktop files it under Open Recent). */
  readonly onOpened?: (store: ProjectStore) => void | Promise<void>;
  /** A project already open (tests and tools), used as it is: not scanned. */
  readonly store?: ProjectStore;
}

export function createProjectService(options: ProjectServiceOptions): ProjectService {
  let store: ProjectStore | null = options.store ?? null;

  async function closeOpen(): Promise<void> {
    await options.beforeClose?.();
    store?.close();
    store = null;
  }

  const service: ProjectService = {
    current: () => store,
    require() {
      if (!store) throw new ConflictError('no project is open');
      return store;
    },
    async open(folder) {
      const absolute = path.resolve(folder);
      const info = await stat(absolute).catch(() => null);
      if (!info) throw new NotFoundError(`${absolute}: no such folder`);
      if (!info.isDirectory()) throw new InvalidInputError(`${absolute}: not a folder`);
      await closeOpen();
      const opened = openProject(absolute);
      try {
        await options.scan(opened);
      } catch (error) {
        opened.close();
        throw error;
      }
      store = opened;
      await options.onOpened?.(opened);
      return opened;
    },
    summary() {
      const open = service.require();
      const byStatus = open.images.countByStatus();
      return { folder: open.folder, total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus };
    },
    close: closeOpen,
  };
  return service;
}
