import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AnnotationRepository } from './annotations.js';
import { CategoryRepository } from './categories.js';
import { HistoryRepository } from './history.js';
import { ImageRepository } from './images.js';
import { assertKnownSchema, latestVersion, migrate } from './migrate.js';
import { migrations } from './migrations/index.js';
import { MetaRepository } from './meta.js';
import { ModelRepository } from './models.js';
import { ReviewRepository } from './review.js';
import { RunLockRepository } from './run-lock.js';
import { PrelabelRepository } from './runs.js';
import { StatsRepository } from './stats.js';

export interface OpenProjectOptions {
  /** Where the database lives; default `<folder>/.loupe/project.db` (give another for read-only folders). */
  readonly dbPath?: string;
  /** Opens an existing, up-to-date database for reading only; nothing is created or migrated. */
  readonly readonly?: boolean;
}

export interface ProjectStore {
  /** The image folder, absolute. */
  readonly folder: string;
  /** The database file, absolute. */
  readonly dbPath: string;
  readonly db: Database.Database;
  readonly images: ImageRepository;
  readonly categories: CategoryRepository;
  readonly models: ModelRepository;
  readonly annotations: AnnotationRepository;
  readonly prelabel: PrelabelRepository;
  readonly history: HistoryRepository;
  readonly review: ReviewRepository;
  readonly meta: MetaRepository;
  readonly runLock: RunLockRepository;
  readonly stats: StatsRepository;
  /** Runs `fn` in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export const PROJECT_DIR = '.loupe';
export const PROJECT_DB = 'project.db';

export function defaultDbPath(folder: string): string {
  return join(resolve(folder), PROJECT_DIR, PROJECT_DB);
}

/** Opens (creating and migrating when needed) the project database of an image folder. */
export function openProject(folder: string, options: OpenProjectOptions = {}): ProjectStore {
  const absoluteFolder = resolve(folder);
  const dbPath = options.dbPath ? resolve(options.dbPath) : defaultDbPath(absoluteFolder);
  const db = openDatabase(dbPath, options.readonly ?? false);
  const history = new HistoryRepository(db);
  const annotations = new AnnotationRepository(db, history);
  const images = new ImageRepository(db, annotations);
  return {
    folder: absoluteFolder,
    dbPath,
    db,
    images,
    categories: new CategoryRepository(db),
    models: new ModelRepository(db),
    annotations,
    prelabel: new PrelabelRepository(db, annotations),
    history,
    review: new ReviewRepository(db, images, annotations),
    meta: new MetaRepository(db),
    runLock: new RunLockRepository(db),
    stats: new StatsRepository(db, images),
    transaction: (fn) => db.transaction(fn)(),
    close: () => db.close(),
  };
}

function openDatabase(dbPath: string, readonly: boolean): Database.Database {
  if (!readonly) mkdirSync(join(dbPath, '..'), { recursive: true });
  const db = new Database(dbPath, { readonly, fileMustExist: readonly });
  try {
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    if (readonly) {
      if (assertKnownSchema(db, migrations) < latestVersion(migrations)) {
        throw new Error(`${dbPath} has an older schema; open it once for writing to upgrade it`);
      }
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db, migrations);
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
