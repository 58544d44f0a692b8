// The domain services behind every transport (Electron's IPC, `loupe serve`'s bridge, tests): one open project and
// what can be done with it. Nothing here knows Electron, HTTP or the IPC contract's wire format; each service throws
// domain errors (app/model/errors.ts), which the dispatcher (main/ipc) turns into error codes.
import type { EventName, EventPayload, RunProgress } from '../../app/ipc/contract.js';
import { scanFolder } from '../fs/index.js';
import type { WorkerPort } from '../inference/client.js';
import type { ProviderChoice } from '../inference/providers.js';
import type { JobSummary } from '../jobs/prelabel-job.js';
import type { DownloadSettings } from '../models/download.js';
import type { ProjectStore } from '../store/index.js';
import { UntrustedFiles, type UntrustedPort } from '../untrusted/client.js';
import { createAnnotationService, type AnnotationService } from './annotations.js';
import { createCategoryService, type CategoryService } from './categories.js';
import { createExportService, type ExportService } from './export.js';
import { createImageService, type ImageService } from './images.js';
import { createModelService, type ModelPlaces, type ModelService } from './models.js';
import { createPrelabelService, type PrelabelService } from './prelabel.js';
import { createFileService, type FileChooser, type FileService } from './files.js';
import { createImportService, type ImportService } from './imports.js';
import { createLearningService, type LearningService } from './learning.js';
import { modelFolders } from './models.js';
import { createProjectService, type ProjectService } from './project.js';
import { createPromptService, type PromptService } from './prompt.js';

export interface Services {
  readonly project: ProjectService;
  readonly images: ImageService;
  readonly annotations: AnnotationService;
  readonly categories: CategoryService;
  readonly models: ModelService;
  readonly prelabel: PrelabelService;
  readonly exports: ExportService;
  readonly imports: ImportService;
  /** The paths handed out to the UI as handles, and main's file dialog. */
  readonly files: FileService;
  /**
   * The local paths an error message may name, for the dispatcher to show them without the rest (main/ipc/redact.ts):
   * the open project's folder, the model folders and every path handed out.
   */
  localPaths(): LocalPaths;
  /** Box prompts with the model's heads, in a worker of the open project's (stopped when it closes). */
  readonly prompt: PromptService;
  /** Training, evaluation and comparison of model versions: one learning job at a time, on a connection of its own. */
  readonly learning: LearningService;
  /** The process that reads untrusted files (scan probes, display and thumbnails, model checks). */
  readonly untrusted: UntrustedFiles;
  /**
   * Ends a run in progress (its results in flight written), stops the prompt worker and the learning job (training at
   * a checkpoint), closes the project and stops the untrusted-files process.
   */
  close(): Promise<void>;
}

export interface LocalPaths {
  readonly projectFolder: string | null;
  readonly known: readonly string[];
}

export type Emit = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

export interface ServicesOptions {
  /** Where models are found and imported to. */
  readonly models: ModelPlaces & {
    /** Limits of downloads (downloadSettingsFromEnv); the defaults when absent. */
    readonly download?: DownloadSettings;
    /** Shortest time between two progress events of one download (default 100 ms). */
    readonly progressIntervalMs?: number;
  };
  /** Sends an event to the UI. */
  readonly emit: Emit;
  /** Hosts each inference worker, pre-label's and evaluation's (an Electron utilityProcess); a child process under Node by default. */
  readonly workerPort?: () => WorkerPort;
  /** Starts the untrusted-files process (an Electron utilityProcess); a child process under Node by default. */
  readonly untrustedPort?: () => UntrustedPort;
  /**
   * The box-prompt worker: its host (an Electron utilityProcess; a child process at normal priority by default), the
   * bytes of feature maps it keeps (cacheBytesFromEnv) and its execution provider ('auto' by default).
   */
  readonly prompt?: {
    readonly workerPort?: () => WorkerPort;
    readonly cacheBytes?: number | undefined;
    readonly provider?: ProviderChoice;
  };
  /**
   * Main's own file dialog (an export's destination, a model's files, an annotation import's source); absent where
   * main has none (a browser page over the bridge), and the channels that need it then say so.
   */
  readonly chooseFile?: FileChooser;
  /** A project already open (tests and tools), used as it is: not scanned. */
  readonly store?: ProjectStore;
  /** After a folder is opened (the desktop files it under Open Recent). */
  readonly onOpened?: (store: ProjectStore) => void | Promise<void>;
  /** Every progress change of a run, and its end. */
  readonly onProgress?: (progress: RunProgress) => void;
  readonly onFinished?: (summary: JobSummary) => void;
  readonly log?: (message: string) => void;
}

export function createServices(options: ServicesOptions): Services {
  const untrusted = new UntrustedFiles(options.untrustedPort);
  let prelabel: PrelabelService | null = null;
  let prompt: PromptService | null = null;
  const project = createProjectService({
    scan: (store) => scanFolder(store, { untrusted }),
    beforeClose: async () => {
      await Promise.all([prelabel?.stop(), prompt?.close()]);
    },
    ...(options.onOpened && { onOpened: options.onOpened }),
    ...(options.store && { store: options.store }),
  });
  const models = createModelService({ ...options.models, emit: options.emit, checks: untrusted }, project);
  prelabel = createPrelabelService(options, project, models);
  prompt = createPromptService({
    ...options.prompt,
    modelDirs: (store) => modelFolders(options.models, store).map((folder) => folder.dir),
    ...(options.log && { log: options.log }),
  }, project, models);
  const images = createImageService(project, options.emit);
  const files = createFileService(options.chooseFile, () => project.current()?.folder ?? null);
  const learning = createLearningService({
    emit: options.emit,
    ...(options.workerPort && { workerPort: options.workerPort }),
    ...(options.log && { log: options.log }),
  }, project);
  return {
    project,
    images,
    annotations: createAnnotationService(project, images),
    categories: createCategoryService(project),
    models,
    prelabel,
    exports: createExportService(project),
    imports: createImportService(project, files),
    files,
    localPaths() {
      const store = project.current();
      return { projectFolder: store?.folder ?? null, known: [...modelFolders(options.models, store).map((folder) => folder.dir), ...files.granted()] };
    },
    prompt,
    learning,
    untrusted,
    async close() {
      await learning.close();
      await project.close();
      await untrusted.dispose();
    },
  };
}

export type {
  ProjectService, ImageService, AnnotationService, CategoryService, ModelService, PrelabelService, ExportService, ImportService, PromptService,
  LearningService, FileService, FileChooser,
};
