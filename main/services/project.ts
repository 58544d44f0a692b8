// The open project: one image folder's store at a time, opened and scanned on request, rescanned when asked, and the
// review screen's settings kept in it.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { reviewSettingsSchema, type ProjectSummary, type Res, type ReviewSettings } from '../../app/ipc/contract.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../app/model/errors.js';
import type { ScanSummary } from '../fs/index.js';
import { openProject, type ProjectStore } from '../store/index.js';

export interface ProjectService {
  /** The open project; null when none is. */
  current(): ProjectStore | null;
  /** The open project; a ConflictError when none is. */
  require(): ProjectStore;
  /** Opens `folder` (an absolute path main chose) as the project, scanning it; the previous one is closed first. */
  open(folder: string): Promise<ProjectStore>;
  summary(): ProjectSummary;
  /**
   * Scans the open project's folder again (`loupe scan`): new images are added, changed and moved ones followed. One
   * rescan at a time per project: a second request while one runs gets the same answer.
   */
  rescan(): Promise<Res<'project.rescan'>>;
  /** The review screen's settings kept in the project, field by field: one that no longer parses is dropped alone. */
  settings(): ReviewSettings;
  saveSettings(settings: ReviewSettings): void;
  /** Closes the open project (after `beforeClose`). */
  close(): Promise<void>;
}

export interface ProjectServiceOptions {
  /** Brings the folder's images into the store (the scan, its decoding in a process of its own). */
  readonly scan: (store: ProjectStore) => Promise<ScanSummary>;
  /** Runs before the open project is closed or replaced (a pre-label run on it is ended first). */
  readonly beforeClose?: () => Promise<void>;
  /** Runs after a folder is opened (the desktop files it under Open Recent). */
  readonly onOpened?: (store: ProjectStore) => void | Promise<void>;
  /** A project already open (tests and tools), used as it is: not scanned. */
  readonly store?: ProjectStore;
}

export function createProjectService(options: ProjectServiceOptions): ProjectService {
  let store: ProjectStore | null = options.store ?? null;
  const rescans = new WeakMap<ProjectStore, Promise<Res<'project.rescan'>>>();

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
    rescan() {
      const open = service.require();
      let running = rescans.get(open);
      if (!running) {
        running = options.scan(open)
          .then(({ files, added, changed, moved, missing, errors }) => ({ files, added, changed, moved, missing, errors }))
          .finally(() => rescans.delete(open));
        rescans.set(open, running);
      }
      return running;
    },
    settings: () => storedSettings(service.require().meta.get(SETTINGS_KEY)),
    saveSettings(settings) {
      service.require().meta.set(SETTINGS_KEY, settings);
    },
    close: closeOpen,
  };
  return service;
}

/** Where the review screen's settings are kept (project_meta). */
const SETTINGS_KEY = 'review-settings';

/** The stored settings, field by field: one a later or earlier version wrote differently is dropped, not the rest. */
function storedSettings(value: unknown): ReviewSettings {
  if (typeof value !== 'object' || value === null) return {};
  const settings: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(reviewSettingsSchema.shape)) {
    const parsed = schema.safeParse((value as Record<string, unknown>)[key]);
    if (parsed.success && parsed.data !== undefined) settings[key] = parsed.data;
  }
  return settings as ReviewSettings;
}
