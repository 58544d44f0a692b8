// The review session: the headless engine behind the review screen. It owns the project as the UI sees it
// (summary, classes, models, the image list), the image under review (its pixels, its annotations and their
// per-image undo history), the selection, the settings and what is visible, the camera, the active tool and
// its state, the pre-label run's progress and the status message; every action a key, a button or the
// pointer can take is a method here. Views subscribe to topics and dispatch; none holds state of its own.
// No DOM and no Konva: it runs in Vitest as it runs in the page.
import { UndoStack } from '../../app/history/index.js';
import type { ScreenPoint } from '../../app/geometry/points.js';
import type {
  Channel, Disposable, GrantedPath, ImageSort, ImportFormat, ProjectSummary, RendererApi, Res, ReviewSettings, RunProgress,
} from '../../app/ipc/contract.js';
import {
  AnnotationId, type Annotation, type Bbox, type Category, type CategoryId, type ImageId, type ImageRecord, type ImageStatus, type ModelId,
  type ProviderName, type ReviewState,
} from '../../app/model/index.js';
import { fitCamera, focusCamera, IDENTITY, panCamera, revealCamera, toImage, zoomCamera, type Camera, type Size } from './camera.js';
import { AnnotationDocument, type ImageHistory } from './document.js';
import { ImageQueue, type ImageFilterInput } from './image-queue.js';
import { Learning } from './learning.js';
import { Prompts } from './prompts.js';
import { decodeWithin, encodeCrop, fillHoles, unionBox } from './mask-ops.js';
import { clockTime, fallbackNotice } from './run-status.js';
import { BRUSH_SIZES, DEFAULT_SETTINGS, type Settings } from './settings.js';
import { actionFor, type Action, type KeyPress } from './shortcuts.js';
import {
  createTools, hitTest, maskExtent, primaryOf, TOOL_NAMES, type Preview, type Tool, type ToolContext, type ToolName, type ToolPointer,
} from './tools/index.js';
import {
  defaultExportChoices, defaultModelImportChoices, describeExport, describeImport, describeModelImport, MODEL_FILE_PURPOSE, modelImportRequest,
  type CocoChoices, type DatasetChoices, type ExportChoices, type ExportDialogState, type ImportDialogState,
  type ModelFile, type ModelImportChoices, type ModelImportDialogState,
} from './transfers.js';

/** What changed, so each view redraws only what it shows. */
export type Topic =
  | 'project' // summary, classes, models
  | 'list' // the image list (filter, pages, statuses)
  | 'image' // another image (or its pixels) is open
  | 'annotations' // the open image's annotations, undo state or save state
  | 'selection'
  | 'settings' // tool choice, threshold, display, class filter…
  | 'tool' // the active tool's state and preview, the cursor
  | 'camera'
  | 'status' // run progress, message
  | 'help'
  | 'dialogs' // the Export, Import and Import Model dialogs
  | 'prompt' // the question for a class name
  | 'hover' // the instance under the pointer
  | 'learning'; // the model table, the learning job, the open image's comparison

/** A pre-label run another process (a `loupe prelabel` in a terminal) holds on the open folder. */
export type OtherRun = NonNullable<Res<'prelabel.active'>['run']>;

/** A model's names: short for the canvas and the panel, full for their tooltips. */
export interface ModelName {
  readonly short: string;
  readonly full: string;
}

export type InstalledModel = Res<'models.installed'>['models'][number];

/** How often the session asks whether another process runs a pre-label on the folder. */
const OTHER_RUN_POLL_MS = 2000;

/** Decoded pictures, by image; the page gives HTMLImageElements, tests anything. */
export interface PictureSource<P> {
  /** Rejects when the file cannot be fetched or decoded. */
  get(image: ImageRecord): Promise<P>;
}

export interface SessionOptions<P> {
  readonly pictures: PictureSource<P>;
  /** Ids for new annotations; random UUIDs by default. */
  readonly newId?: () => AnnotationId;
  /** How often to look for another process's pre-label run (prelabel.active); 0 only when asked (tests). */
  readonly otherRunPollMs?: number;
  /** How long after a settings change they are saved in the project (a slider drag is saved once); default 500 ms. */
  readonly settingsDelayMs?: number;
  /** The window getting the focus back rescans the folder at most this often; default 10 s. */
  readonly rescanIntervalMs?: number;
}

/** A pointer event on the canvas, in screen pixels. */
export interface PointerInput {
  readonly screen: ScreenPoint;
  /** 0 primary, 1 middle, 2 secondary. */
  readonly button: number;
  readonly shift?: boolean;
  readonly alt?: boolean;
  /** Ctrl, or Cmd on a Mac. */
  readonly mod?: boolean;
}

export interface WheelInput {
  readonly screen: ScreenPoint;
  readonly deltaX: number;
  readonly deltaY: number;
  /** A pinch on a touchpad arrives as a wheel with Ctrl. */
  readonly ctrl?: boolean;
}

interface SessionState<P> {
  summary: ProjectSummary | null;
  categories: readonly Category[];
  models: readonly InstalledModel[];
  providers: readonly ProviderName[];
  image: ImageRecord | null;
  picture: P | null;
  document: AnnotationDocument | null;
  selection: readonly AnnotationId[];
  settings: Settings;
  camera: Camera;
  viewport: Size;
  run: RunProgress | null;
  otherRun: OtherRun | null;
  modelNames: ReadonlyMap<ModelId, ModelName>;
  message: string;
  helpOpen: boolean;
  exportDialog: ExportDialogState | null;
  importDialog: ImportDialogState | null;
  modelImportDialog: ModelImportDialogState | null;
  /** A new instance waiting for the class the person is asked to name (a project without classes). */
  classRequest: { readonly make: (category: CategoryId) => void } | null;
  hovered: AnnotationId | null;
}

/**
 * A review that moved on to the next image: Ctrl+Z there, with nothing done there since, goes back and undoes it.
 * The depths are the two images' undo histories right after it, to tell that nothing was done since.
 */
interface ReviewMove {
  readonly from: ImageId;
  readonly fromDepth: number;
  readonly to: ImageId;
  readonly toDepth: number;
}

/** How many images keep their undo history while the app runs (the most recently opened). */
const HISTORIES = 500;

export class ReviewSession<P = unknown> implements Disposable {
  /** The session's state; read through the getters below, changed only by the session's own actions. */
  private readonly s: SessionState<P> = {
    summary: null, categories: [], models: [], providers: [], image: null, picture: null, document: null, selection: [],
    settings: DEFAULT_SETTINGS, camera: IDENTITY, viewport: { width: 800, height: 600 }, run: null, otherRun: null, modelNames: new Map(),
    message: '', helpOpen: false, exportDialog: null, importDialog: null, modelImportDialog: null, classRequest: null, hovered: null,
  };
  readonly images: ImageQueue;
  /** Box prompts on the chosen model's heads: whether they can run, what is on its way, the classes offered. */
  readonly prompts: Prompts;
  /** Model versions, training, evaluation and the comparison with what was reviewed. */
  readonly learning: Learning;

  private readonly tools: Record<ToolName, Tool>;
  private readonly listeners = new Set<(topics: ReadonlySet<Topic>) => void>();
  private readonly disposables: Disposable[] = [];
  private documentSubscription: Disposable | null = null;
  private readonly histories = new Map<ImageId, ImageHistory>();
  /** Reviews that moved the review on, the latest last (see undo). */
  private readonly reviewMoves: ReviewMove[] = [];
  /** A review being settled and moved on from; an undo meanwhile waits for it. */
  private reviewing: Promise<void> | null = null;
  /** The export choices last used, for the next time the dialog opens. */
  private exportChoices: ExportChoices = defaultExportChoices();
  /** The Import Model dialog's choices, kept while the app runs. */
  private modelImportChoices: ModelImportChoices = defaultModelImportChoices();
  private readonly newId: () => AnnotationId;
  private opening = 0;
  /** The image last asked for: a reload for another one (a run's batch arriving late) gives way to it. */
  private requested: ImageId | null = null;
  private spaceHeld = false;
  /** Where the last pan step left the pointer, while panning. */
  private panning: ScreenPoint | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Settings are saved only once the project's own have been read (never the defaults over them). */
  private settingsLoaded = false;
  private lastRescan = -Infinity;

  constructor(private readonly api: RendererApi, private readonly options: SessionOptions<P>) {
    this.newId = options.newId ?? (() => AnnotationId(newUuid()));
    this.images = new ImageQueue(api, () => this.changed('list'));
    this.prompts = new Prompts({
      api,
      document: () => this.document,
      modelId: () => this.models.find((m) => m.cardPath === this.settings.model)?.id ?? null,
      categories: () => this.categories,
      reloadCategories: async () => {
        await this.loadCategories();
        this.changed('project');
      },
      nextImage: (image) => this.images.neighbour(image.id, 1),
      newId: () => this.newId(),
      select: (ids) => this.select(ids),
      say: (message) => this.say(message),
      changed: (what) => this.promptsChanged(what),
    });
    const current = () => ({ document: this.document!, selection: this.selection });
    const context: ToolContext = {
      get document() {
        return current().document;
      },
      get selection() {
        return current().selection;
      },
      select: (ids) => this.select(ids),
      activeCategory: () => this.settings.activeCategory,
      withClass: (make) => this.withClass(make),
      brushRadius: () => this.settings.brushSize / this.camera.scale,
      pixelSize: () => 1 / this.camera.scale,
      isVisible: (a) => this.isVisible(a),
      isPickable: (a) => this.isPickable(a),
      say: (message) => this.say(message),
      prompt: this.prompts,
    };
    this.tools = createTools(context);
    this.learning = new Learning(api, {
      image: () => this.image,
      document: () => this.document,
      changed: () => this.changed('learning'),
      say: (message) => this.say(message),
      jobEnded: () => this.afterLearningJob(),
      setThreshold: (threshold) => this.updateSettings({ threshold }),
      newId: () => this.newId(),
    });
    this.disposables.push(
      api.on('prelabel.progress', (progress) => {
        this.noticeFallback(progress);
        this.s.run = progress;
        this.changed('status');
        if (progress.replaced) {
          this.say(`Pre-label ${progress.state}: replaced ${progress.replaced} pending predictions of other models (an image holds one model's pending predictions)`);
        }
        if (progress.state === 'done' || progress.state === 'cancelled' || progress.state === 'failed') this.background(this.refreshAll());
      }),
      api.on('app.command', (command) => {
        if (command.command === 'open-folder') this.background(this.openFolder(command.folder));
        else if (command.command === 'export-coco') this.openExport();
        else if (command.command === 'import-annotations') this.openImport();
        else if (command.command === 'undo') this.undo();
        else if (command.command === 'redo') this.redo();
        else if (command.command === 'import-model') this.openModelImport();
      }),
      api.on('learning.progress', (job) => this.learning.progress(job)),
      api.on('images.changed', ({ ids }) => {
        // Predictions written for the image on screen: show them (saved edits are in the store too).
        if (this.image && ids.includes(this.image.id)) this.background(this.reload(this.image.id));
        this.background(this.refreshListed(ids));
      }),
    );
    const every = options.otherRunPollMs ?? OTHER_RUN_POLL_MS;
    if (every > 0) {
      const timer = setInterval(() => void this.checkOtherRun(), every);
      this.disposables.push({ dispose: () => clearInterval(timer) });
    }
  }

  // ---- reading ----

  get summary(): ProjectSummary | null {
    return this.s.summary;
  }

  get categories(): readonly Category[] {
    return this.s.categories;
  }

  /** The models pre-labelling can use (models.installed). */
  get models(): readonly InstalledModel[] {
    return this.s.models;
  }

  /** The execution providers this platform offers. */
  get providers(): readonly ProviderName[] {
    return this.s.providers;
  }

  /** The image under review; null before the first one opens and in a project without images. */
  get image(): ImageRecord | null {
    return this.s.image;
  }

  /** The open image's pixels; null when they could not be loaded (the annotations stay reachable). */
  get picture(): P | null {
    return this.s.picture;
  }

  /** The open image's annotations, undo history and saves. */
  get document(): AnnotationDocument | null {
    return this.s.document;
  }

  /** Selected instances in the order they were selected; the last is the primary one. */
  get selection(): readonly AnnotationId[] {
    return this.s.selection;
  }

  get settings(): Settings {
    return this.s.settings;
  }

  get camera(): Camera {
    return this.s.camera;
  }

  /** The canvas's size in screen pixels. */
  get viewport(): Size {
    return this.s.viewport;
  }

  /** The latest pre-label run's progress, as its events tell it. */
  get run(): RunProgress | null {
    return this.s.run;
  }

  /** A pre-label run another process holds on this folder (a `loupe prelabel` in a terminal), as it last recorded it. */
  get otherRun(): OtherRun | null {
    return this.s.otherRun;
  }

  /** Why Pre-label cannot start now, or null when it can. */
  get prelabelRefusal(): string | null {
    const other = this.otherRun;
    if (!other) return null;
    return `A pre-label run is already in progress on this folder (pid ${other.pid}, started ${clockTime(other.startedAt)}); wait for it to end, or stop it where it runs.`;
  }

  /** The names of the model that made an annotation (short and full), or null for a person's own. */
  modelName(a: Pick<Annotation, 'modelId'>): ModelName | null {
    return a.modelId === null ? null : (this.s.modelNames.get(a.modelId) ?? { short: `model ${a.modelId}`, full: `model ${a.modelId}` });
  }

  /** The Export dialog, while it is open. */
  get exportDialog(): ExportDialogState | null {
    return this.s.exportDialog;
  }

  /** The Import dialog, while it is open. */
  get importDialog(): ImportDialogState | null {
    return this.s.importDialog;
  }

  /** The Import Model dialog, while it is open. */
  get modelImportDialog(): ModelImportDialogState | null {
    return this.s.modelImportDialog;
  }

  /** Whether Ctrl+Z has something to undo: on the open image, or the review that moved on to it. */
  get canUndo(): boolean {
    return (this.document?.canUndo ?? false) || this.reviewToUndo() !== null;
  }

  /** The status bar's message: what just happened or went wrong. */
  get message(): string {
    return this.s.message;
  }

  get helpOpen(): boolean {
    return this.s.helpOpen;
  }

  /** True while a new instance waits for the person to name its class (answerClass or cancelClassRequest). */
  get askingForClass(): boolean {
    return this.s.classRequest !== null;
  }

  /** The pickable instance under the pointer, if any. */
  get hovered(): AnnotationId | null {
    return this.s.hovered;
  }

  /** Why the open image cannot be shown as it is (unreadable, missing, pixels not loaded); null when it can. */
  get imageProblem(): string | null {
    const image = this.image;
    if (!image) return null;
    if (image.missing) return `The file is missing from the folder (moved or deleted): ${image.path}`;
    if (image.error) return `The file could not be read: ${image.error}`;
    if (this.document && this.picture === null) return `Could not load the pixels of ${image.path}`;
    return null;
  }

  subscribe(listener: (topics: ReadonlySet<Topic>) => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  get annotations(): readonly Annotation[] {
    return this.document?.annotations ?? [];
  }

  /** The primary selection (the last selected), or null. */
  get primary(): AnnotationId | null {
    return primaryOf(this.selection);
  }

  get tool(): Tool {
    return this.tools[this.settings.tool];
  }

  /** The active tool and its state, as 'select.translating'. */
  get toolState(): string {
    return `${this.tool.name}.${this.tool.state.name}`;
  }

  get preview(): Preview | null {
    return this.document ? this.tool.preview() : null;
  }

  get cursor(): string {
    if (this.panning) return 'grabbing';
    if (this.spaceHeld) return 'grab';
    return this.tool.cursor();
  }

  /** Edits made but not yet confirmed saved. */
  get unsaved(): number {
    return this.document?.unsaved ?? 0;
  }

  /** Resolves when every edit made so far is saved (or has failed). */
  whenSaved(): Promise<void> {
    return this.document?.whenSaved() ?? Promise.resolve();
  }

  /** Shown on the canvas and in the panel: not rejected, not a prediction below the threshold, of a class shown. */
  isVisible(a: Annotation): boolean {
    if (a.state === 'rejected') return false;
    if (a.origin === 'model' && a.score !== null && a.score < this.settings.threshold) return false;
    return this.isClassShown(a.categoryId);
  }

  /** Whether a class is shown: the class filter (which filters the image list too) and the class's own eye. */
  isClassShown(category: CategoryId): boolean {
    const only = this.images.filter.categoryId;
    return (only === undefined || category === only) && !this.settings.hiddenCategories.includes(category);
  }

  isClassLocked(category: CategoryId): boolean {
    return this.settings.lockedCategories.includes(category);
  }

  /** Shown and of a class that is not locked: what a click, a drag or a rectangle on the canvas can take. */
  isPickable(a: Annotation): boolean {
    return this.isVisible(a) && !this.isClassLocked(a.categoryId);
  }

  // ---- lifecycle ----

  /** Loads the open project and opens the first image that needs review. */
  /** Loads the open project with its saved settings, and opens the image it was left on (else the first needing review). */
  async start(): Promise<void> {
    this.s.summary = await this.api.invoke('project.summary', {});
    await this.loadCategories();
    await this.loadModels();
    this.changed('project');
    await this.checkOtherRun();
    // The model table is not needed to review: a build without the learning loop still starts.
    void this.learning.refresh().catch(() => {});
    const saved = await this.loadProjectSettings();
    await this.images.setFilter(saved.imageFilter ?? {});
    await this.openFirst(saved.imageId ?? null);
  }

  /** Opens another folder as the project: one main chose and handed out (desktop menu, recent list, dropped folder). */
  async openFolder(folder: GrantedPath): Promise<void> {
    await this.whenSaved();
    await this.flushSettings();
    this.settingsLoaded = false;
    this.s.summary = await this.api.invoke('project.open', { folder: folder.handle });
    this.closeImage();
    this.histories.clear();
    this.reviewMoves.length = 0;
    this.s.run = null;
    this.s.settings = { ...this.settings, hiddenCategories: [], lockedCategories: [] };
    await this.loadCategories();
    await this.loadModels();
    this.changed('project', 'status');
    await this.checkOtherRun();
    const saved = await this.loadProjectSettings();
    await this.images.setFilter(saved.imageFilter ?? {});
    await this.openFirst(saved.imageId ?? null);
  }

  dispose(): void {
    this.prompts.dispose();
    // A change still waiting to be saved is sent now (best effort: the page may be going away).
    if (this.saveTimer !== null) void this.flushSettings().catch(() => {});
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.closeImage();
    this.listeners.clear();
  }

  // ---- images ----

  /** Opens an image: pixels and annotations fetched together, then shown; `keepView` keeps the camera (a refresh). */
  async open(image: ImageRecord, { keepView = false }: { keepView?: boolean } = {}): Promise<void> {
    const ticket = ++this.opening;
    this.requested = image.id;
    if (!keepView) this.acted();
    // Edits still on their way are in the store before its annotations are read (reopening the same image).
    await this.whenSaved();
    const [{ annotations }, picture] = await Promise.all([
      this.api.invoke('annotations.list', { imageId: image.id }),
      this.pixelsOf(image),
    ]);
    if (ticket !== this.opening) return;
    if (picture === null) this.say(`Could not load the pixels of ${image.path}${image.error ? `: ${image.error}` : ''}`);
    const same = this.image?.id === image.id;
    const kept = same ? this.selection : [];
    // The same image shown again (a run wrote to it) keeps the gesture in progress; another one starts afresh.
    this.closeImage({ keepTools: same });
    const document = new AnnotationDocument({
      image,
      annotations,
      newId: this.newId,
      history: this.historyOf(image.id),
      save: (diff, status) => this.save(image, diff, status),
    });
    this.documentSubscription = document.onChange(() => {
      const present = this.selection.filter((id) => document.get(id));
      if (present.length !== this.selection.length) this.s.selection = present;
      this.changed('annotations', 'selection', 'tool', 'status');
    });
    this.s.image = image;
    this.s.picture = picture;
    this.s.document = document;
    this.s.selection = kept.filter((id) => document.get(id));
    if (!keepView) this.s.camera = fitCamera(image, this.viewport);
    this.changed('image', 'annotations', 'selection', 'tool', 'camera', 'list', 'status', 'learning');
    this.background(this.learning.load(image));
    // Its feature maps (and the next image's) are computed now, so a first box drawn does not wait for them.
    if (!same) this.prompts.imageOpened(image);
    if (!same) this.saveSettingsSoon();
    // The review flow goes forward: have the next image decoded before it is asked for.
    void this.images.neighbour(image.id, 1).then((next) => next && this.pixelsOf(next));
  }

  /** The next (1) or previous (-1) image in the list. */
  async step(direction: 1 | -1): Promise<void> {
    if (!this.image) return;
    const next = await this.images.neighbour(this.image.id, direction);
    if (next) await this.open(next);
  }

  /**
   * Marks the open image reviewed and opens the next one that needs review. Main settles it as shown: predictions
   * visible at this threshold and class filter accepted, the hidden ones rejected, stale annotations kept when they
   * still fit the image and dropped when not. The whole of it is one undo step of that image, which Ctrl+Z on the
   * next image (with nothing done there yet) also reaches: it goes back and undoes it.
   */
  markReviewedAndNext(): Promise<void> {
    // A second Enter before the first has moved on is the same one (the next image is not on screen yet).
    if (this.reviewing) return this.reviewing;
    const work = this.settleAndMoveOn().finally(() => {
      if (this.reviewing === work) this.reviewing = null;
    });
    this.reviewing = work;
    return work;
  }

  private async settleAndMoveOn(): Promise<void> {
    const image = this.image;
    if (!image) return;
    await this.whenSaved();
    const only = this.images.filter.categoryId;
    const hiddenCategoryIds = only === undefined ? [] : this.categories.filter((c) => c.id !== only).map((c) => c.id);
    const settled = await this.api.invoke('review.markReviewed', { imageId: image.id, threshold: this.settings.threshold, hiddenCategoryIds });
    // One undo step of the image: the decisions and the status (an image reviewed before keeps its status).
    const status = settled.previousStatus === 'reviewed' ? undefined : { before: settled.previousStatus, after: 'reviewed' as const };
    const depth = this.depthOf(image.id);
    const document = this.document?.image.id === image.id ? this.document : null;
    if (document) {
      if (!document.recordApplied(settled.changes, status)) {
        // What is shown no longer matches the store: show the store's, with its review still undoable.
        this.historyOf(image.id).push(settled.changes, status);
        await this.reload(image.id);
      }
    } else {
      this.historyOf(image.id).push(settled.changes, status);
    }
    const undoable = this.depthOf(image.id) > depth;
    if (this.s.image?.id === image.id) this.s.image = settled.image;
    this.images.update(settled.image);
    await this.refreshSummary();
    const stale = settled.kept + settled.dropped > 0 ? `; stale annotations kept ${settled.kept}, dropped ${settled.dropped}` : '';
    const said = `${image.path} reviewed: accepted ${settled.accepted}, rejected ${settled.rejected}${stale}`;
    const next = (await this.api.invoke('images.nextToReview', { afterPath: image.path })).image;
    if (next && next.id !== image.id) {
      const fromDepth = this.depthOf(image.id);
      await this.open(next);
      if (undoable && this.image?.id === next.id) {
        this.reviewMoves.push({ from: image.id, fromDepth, to: next.id, toDepth: this.depthOf(next.id) });
        if (this.reviewMoves.length > HISTORIES) this.reviewMoves.shift();
      }
    }
    this.say(next ? said : `${said}. Every image is reviewed.`);
  }

  /** The list's order: by path, or most uncertain first. */
  async setImageSort(sort: ImageSort): Promise<void> {
    await this.images.setSort(sort);
  }

  async setImageFilter(filter: ImageFilterInput): Promise<void> {
    this.acted();
    const shown = this.images.setFilter(filter);
    // The class filter also decides what the canvas and the panel show.
    this.dropUnpickableFromSelection();
    this.changed('settings', 'annotations');
    this.saveSettingsSoon();
    await shown;
  }

  /** Scans the folder again (new, changed, moved and vanished files) and shows what it found; `quiet` says only news. */
  async rescan({ quiet = false }: { quiet?: boolean } = {}): Promise<void> {
    if (!quiet) this.acted();
    this.lastRescan = Date.now();
    try {
      const found = await this.api.invoke('project.rescan', {});
      const news = found.added + found.changed + found.moved + found.missing;
      if (news > 0) {
        await this.refreshSummary();
        await this.images.setFilter(this.images.filter);
        if (this.requested !== null) await this.reload(this.requested);
      }
      if (news > 0 || !quiet) this.say(rescanText(found));
    } catch (error) {
      if (!quiet) this.say(messageOf(error));
    }
  }

  /** The window has the focus back: files may have been added to the folder meanwhile. */
  windowFocused(): void {
    if (Date.now() - this.lastRescan < (this.options.rescanIntervalMs ?? 10_000) || !this.summary) return;
    this.background(this.rescan({ quiet: true }));
  }

  // ---- selection ----

  /** Selects these instances (of the open image), in this order. */
  select(ids: readonly AnnotationId[]): void {
    const document = this.document;
    const next = [...new Set(ids)].filter((id) => {
      const a = document?.get(id);
      return a !== undefined && !this.isClassLocked(a.categoryId);
    });
    if (next.length === this.selection.length && next.every((id, i) => id === this.selection[i])) return;
    this.s.selection = next;
    this.changed('selection', 'tool');
  }

  /** Selects one instance from the panel or the keyboard, bringing it on screen. */
  selectAndReveal(id: AnnotationId): void {
    this.acted();
    const a = this.document?.get(id);
    if (!a) return;
    this.select([id]);
    this.reveal(a.bbox);
  }

  /** Selects one instance and zooms to it (a double-click on its row in the panel). */
  zoomTo(id: AnnotationId): void {
    this.acted();
    this.select([id]);
    this.zoomToSelection();
  }

  /** Centres the selection and zooms to it; with nothing selected, says so. */
  zoomToSelection(): void {
    const boxes = this.selection.flatMap((id) => {
      const a = this.document?.get(id);
      return a ? [a.bbox] : [];
    });
    if (boxes.length === 0) return this.say('Select an instance to zoom to it.');
    this.setCamera(focusCamera(boxes.reduce(unionBox), this.viewport));
  }

  // ---- settings ----

  setTool(tool: ToolName): void {
    this.acted();
    if (tool === 'prompt' && this.prompts.unavailable !== null) return this.say(this.prompts.unavailable);
    this.tool.cancel();
    this.s.settings = { ...this.settings, tool };
    this.changed('settings', 'tool');
    this.saveSettingsSoon();
  }

  updateSettings(changes: Partial<Omit<Settings, 'tool'>>): void {
    this.acted();
    const model = this.settings.model;
    this.s.settings = { ...this.settings, ...changes };
    if (changes.hiddenCategories || changes.lockedCategories) this.dropUnpickableFromSelection();
    this.changed('settings', 'tool');
    if (this.settings.model !== model) this.background(this.prompts.refresh());
    this.saveSettingsSoon();
  }

  /** Shows or hides a class on the canvas and in the panel. */
  toggleClassHidden(category: CategoryId): void {
    this.updateSettings({ hiddenCategories: toggled(this.settings.hiddenCategories, category) });
  }

  /** Locks a class (shown, but not selectable) or unlocks it. */
  toggleClassLocked(category: CategoryId): void {
    this.updateSettings({ lockedCategories: toggled(this.settings.lockedCategories, category) });
  }

  /** Makes the index-th class the one for new instances, and reclassifies the selection. */
  pickClass(index: number): void {
    const category = this.categories[index];
    if (!category) return;
    this.updateSettings({ activeCategory: category.id });
    if (this.selection.length > 0) this.document?.setCategory(this.selection, category.id);
  }

  /** Gives instances another class (the panel's bulk bar); one edit. */
  reclassify(ids: readonly AnnotationId[], category: CategoryId): void {
    this.acted();
    this.document?.setCategory(ids, category);
  }

  /** Creates a class and makes it the one for new instances; the created class, or null (and why, in the status bar). */
  async createClass(name: string): Promise<Category | null> {
    this.acted();
    try {
      const category = await this.api.invoke('categories.create', { name });
      await this.loadCategories();
      this.s.settings = { ...this.settings, activeCategory: category.id };
      this.changed('project', 'settings');
      this.saveSettingsSoon();
      return category;
    } catch (error) {
      this.say(messageOf(error));
      return null;
    }
  }

  /** Names the class a new instance waits for: the class is created and the instance made with it. */
  async answerClass(name: string): Promise<boolean> {
    const request = this.s.classRequest;
    const category = await this.createClass(name);
    if (!category) return false;
    if (request && this.s.classRequest === request) {
      this.s.classRequest = null;
      this.changed('prompt');
      if (this.document) request.make(category.id);
    }
    return true;
  }

  /** The person declined to name a class: the instance waiting for it is not made. */
  cancelClassRequest(): void {
    if (!this.s.classRequest) return;
    this.s.classRequest = null;
    this.changed('prompt');
  }

  // ---- edits ----

  setReviewState(ids: readonly AnnotationId[], state: ReviewState): void {
    this.document?.setState(ids, state);
  }

  /**
   * Accepts or rejects instances (a key, a row's button, the bulk bar); with auto-advance on, the next pending
   * instance is selected and brought on screen.
   */
  decide(ids: readonly AnnotationId[], state: 'accepted' | 'rejected'): void {
    this.acted();
    this.setReviewState(ids, state);
    if (this.settings.autoAdvance && ids.length > 0) this.selectNextPending(ids.at(-1)!);
  }

  /**
   * Undoes the open image's last step; on the image a review moved on to, with nothing done there since, it goes back
   * to the reviewed image and undoes the review (its annotations and its status, in one save).
   */
  undo(): void {
    if (this.reviewing) {
      // Enter then Ctrl+Z at once: the undo is for the review, once it has moved on.
      this.background(this.reviewing.then(() => this.undo()));
      return;
    }
    this.tool.cancel();
    const move = this.reviewToUndo();
    if (move) {
      this.reviewMoves.splice(this.reviewMoves.indexOf(move), 1);
      this.background(this.undoReviewMove(move));
      return;
    }
    this.document?.undo();
  }

  redo(): void {
    this.tool.cancel();
    this.document?.redo();
  }

  /** What a key, a toolbar button or a menu asks for. */
  async perform(action: Action): Promise<void> {
    const document = this.document;
    const selection = this.selection;
    const primary = this.primary === null ? undefined : document?.get(this.primary);
    this.acted();
    if (action.startsWith('tool.')) return this.setTool(action.slice(5) as ToolName);
    if (action.startsWith('class.')) return this.pickClass(Number(action.slice(6)) - 1);
    switch (action) {
      case 'brush.smaller': return this.updateSettings({ brushSize: Math.max(BRUSH_SIZES.min, Math.round(this.settings.brushSize / 1.25)) });
      case 'brush.larger': return this.updateSettings({ brushSize: Math.min(BRUSH_SIZES.max, Math.round(this.settings.brushSize * 1.25) + 1) });
      case 'mask.fillHoles': {
        if (!primary?.mask || !document) return;
        // Holes lie inside the mask's own box: only that is decoded.
        const crop = decodeWithin(primary.mask, maskExtent(primary.mask));
        return document.setRle(primary.id, encodeCrop({ ...fillHoles(crop), x: crop.x, y: crop.y }, document.image.width, document.image.height));
      }
      case 'instance.delete': return document?.remove(selection);
      case 'instance.accept': return this.decide(selection, 'accepted');
      case 'instance.reject': return this.decide(selection, 'rejected');
      case 'instance.acceptAbove': {
        const n = document?.acceptAbove(this.settings.threshold, (a) => this.isPickable(a)) ?? 0;
        return this.say(`Accepted ${n} pending prediction${n === 1 ? '' : 's'} scoring ${this.settings.threshold.toFixed(2)} or more`);
      }
      case 'instance.rejectBelow': {
        const n = document?.rejectBelow(this.settings.threshold, (a) => this.isClassShown(a.categoryId) && !this.isClassLocked(a.categoryId)) ?? 0;
        return this.say(`Rejected ${n} pending prediction${n === 1 ? '' : 's'} scoring below ${this.settings.threshold.toFixed(2)}`);
      }
      case 'instance.crowd': return primary ? document!.setCrowd(selection, !primary.crowd) : undefined;
      case 'instance.next': return this.selectNext();
      case 'instance.selectAll': return this.select(this.annotations.filter((a) => this.isPickable(a)).map((a) => a.id));
      case 'instance.deselect': return this.select([]);
      case 'edit.undo': return this.undo();
      case 'edit.redo': return this.redo();
      case 'view.fit': return this.fit();
      case 'view.zoomSelection': return this.zoomToSelection();
      case 'view.zoomIn': return this.zoomBy(1.25);
      case 'view.zoomOut': return this.zoomBy(0.8);
      case 'view.masks': return this.updateSettings({ showMasks: !this.settings.showMasks });
      case 'view.outlines': return this.updateSettings({ showOutlines: !this.settings.showOutlines });
      case 'view.boxes': return this.updateSettings({ showBoxes: !this.settings.showBoxes });
      case 'view.labels': return this.updateSettings({ showLabels: !this.settings.showLabels });
      case 'review.done': return this.markReviewedAndNext();
      case 'image.next': return this.step(1);
      case 'image.previous': return this.step(-1);
      case 'help.toggle': return this.setHelp(!this.helpOpen);
      case 'compare.takeExtra': return void this.learning.takeExtra();
    }
  }

  setHelp(open: boolean): void {
    if (this.helpOpen === open) return;
    this.s.helpOpen = open;
    this.changed('help');
  }

  // ---- camera ----

  /** The canvas's size in screen pixels (it reports it when laid out and on every resize). */
  setViewport(size: Size): void {
    if (size.width <= 0 || size.height <= 0) return;
    if (size.width === this.viewport.width && size.height === this.viewport.height) return;
    this.s.viewport = size;
    this.changed('camera');
  }

  fit(): void {
    if (this.image) this.setCamera(fitCamera(this.image, this.viewport));
  }

  /** Zooms by `factor` around a screen point (default the canvas centre). */
  zoomBy(factor: number, around?: ScreenPoint): void {
    this.setCamera(zoomCamera(this.camera, factor, around ?? ({ x: this.viewport.width / 2, y: this.viewport.height / 2 } as ScreenPoint)));
  }

  panBy(dx: number, dy: number): void {
    this.setCamera(panCamera(this.camera, dx, dy));
  }

  /** Brings a box on screen (zooming out if it must); does nothing when it is already. */
  reveal(box: Bbox): void {
    this.setCamera(revealCamera(this.camera, box, this.viewport));
  }

  // ---- input ----

  pointerDown(input: PointerInput): void {
    this.acted();
    if (input.button === 1 || (input.button === 0 && this.spaceHeld)) {
      this.panning = input.screen;
      this.changed('tool');
      return;
    }
    if (input.button !== 0 || !this.document) return;
    this.tool.pointerDown(this.toolPointer(input));
    this.changed('tool');
  }

  pointerMove(input: PointerInput): void {
    if (this.panning) {
      const from = this.panning;
      this.panning = input.screen;
      this.panBy(input.screen.x - from.x, input.screen.y - from.y);
      return;
    }
    if (!this.document) return;
    const pointer = this.toolPointer(input);
    if (this.learning.comparison) this.learning.hover(pointer.image);
    this.tool.pointerMove(pointer);
    this.hover(this.tool.state.name === 'idle' ? hitTest(this.document, (a) => this.isPickable(a), pointer.image)[0] ?? null : null);
    this.changed('tool');
  }

  /** The pointer left the canvas. */
  pointerLeave(): void {
    this.hover(null);
  }

  pointerUp(input: PointerInput): void {
    if (this.panning) {
      this.panning = null;
      this.changed('tool');
      return;
    }
    if (input.button !== 0 || !this.document) return;
    this.tool.pointerUp(this.toolPointer(input));
    this.changed('tool');
  }

  /** The pointer was taken away mid-gesture (the window lost it): the gesture is dropped, nothing edited. */
  pointerCancel(): void {
    this.panning = null;
    this.tool.cancel();
    this.changed('tool');
  }

  wheel(input: WheelInput): void {
    if (input.ctrl || Math.abs(input.deltaY) >= Math.abs(input.deltaX)) this.zoomBy(Math.exp(-input.deltaY * 0.0015), input.screen);
    else this.panBy(-input.deltaX, 0);
  }

  /** A key pressed on the review screen (not in a text field); true when the session used it. */
  keyDown(press: KeyPress): boolean {
    // A dialog open over the review keeps its keys (Tab, Space and Enter on its controls); Escape closes it.
    if (this.exportDialog || this.importDialog || this.modelImportDialog) {
      if (press.key !== 'Escape') return false;
      this.closeExport();
      this.closeImport();
      this.closeModelImport();
      return true;
    }
    if (press.key !== ' ') this.acted();
    if (press.key === ' ') {
      if (!this.spaceHeld) {
        this.spaceHeld = true;
        this.changed('tool');
      }
      return true;
    }
    if (press.key === 'Escape' && this.helpOpen) {
      this.setHelp(false);
      return true;
    }
    if (press.key === 'Escape' && this.learning.tableOpen) {
      this.learning.setTableOpen(false);
      return true;
    }
    if (press.key === 'Escape' && this.askingForClass) {
      this.cancelClassRequest();
      return true;
    }
    if (!press.ctrlKey && !press.metaKey && this.document && this.tool.key(press.key)) {
      this.changed('tool');
      return true;
    }
    const action = actionFor(press);
    if (!action) return false;
    this.background(this.perform(action));
    return true;
  }

  /** A key released; true when the session used it (the Space of a pan, which must not click a focused button). */
  keyUp(press: KeyPress): boolean {
    if (press.key !== ' ' || !this.spaceHeld) return false;
    this.spaceHeld = false;
    this.changed('tool');
    return true;
  }

  // ---- pre-labelling and export ----

  async prelabel(): Promise<void> {
    this.acted();
    // Another process's run holds the folder: say why, start nothing (main would refuse it too).
    await this.checkOtherRun();
    const refusal = this.prelabelRefusal;
    if (refusal) return this.say(refusal);
    try {
      const model = this.models.find((m) => m.cardPath === this.settings.model);
      // Keep every prediction the slider could show: a slider set below the card's threshold lowers it.
      const threshold = Math.min(model?.thresholds.score ?? 0.5, this.settings.threshold);
      const run = await this.api.invoke('prelabel.start', { ...(model?.id ? { modelId: model.id } : {}), threshold, provider: this.settings.provider });
      this.noticeFallback(run);
      // Progress events can overtake the reply; the reply only starts the run's display.
      if (this.run?.runId !== run.runId) this.s.run = run;
      this.changed('status');
    } catch (error) {
      this.say(messageOf(error));
    }
  }

  async controlRun(channel: Extract<Channel, 'prelabel.pause' | 'prelabel.resume' | 'prelabel.cancel'>): Promise<void> {
    if (!this.run) return;
    try {
      await this.api.invoke(channel, { runId: this.run.runId });
    } catch (error) {
      this.say(messageOf(error));
    }
  }

  /** Looks for a pre-label run another process holds on the folder (polled), and follows it until it ends. */
  async checkOtherRun(): Promise<void> {
    if (!this.summary) return;
    let run: OtherRun | null;
    try {
      run = (await this.api.invoke('prelabel.active', {})).run;
    } catch {
      return; // no project open (yet), or main busy: the next poll asks again
    }
    const other = run && !run.ownedHere ? run : null;
    const before = this.s.otherRun;
    const same = before && other && before.pid === other.pid && before.state === other.state && before.done === other.done
      && before.failed === other.failed && before.total === other.total;
    if (same || (!before && !other)) return;
    this.s.otherRun = other;
    this.changed('status');
    // Its predictions land in the store as it goes: the counts and the open image follow it; at its end, all of it.
    if (before && !other) this.background(this.refreshAll());
    else if (before && other && other.done !== before.done) this.background(this.refreshOpen());
  }

  // ---- export and import ----

  /** Opens the Export dialog with the choices used last (the CLI's defaults the first time). */
  openExport(): void {
    this.s.exportDialog = { choices: this.exportChoices, file: null, busy: false, report: null, error: null };
    this.changed('dialogs');
  }

  closeExport(): void {
    if (!this.s.exportDialog) return;
    this.s.exportDialog = null;
    this.changed('dialogs');
  }

  /** Changes the format or options the Export dialog shows (and writes with). */
  chooseExport(changes: { format?: ExportChoices['format']; coco?: Partial<CocoChoices>; dataset?: Partial<DatasetChoices> }): void {
    const choices = this.exportChoices;
    this.exportChoices = {
      format: changes.format ?? choices.format,
      coco: { ...choices.coco, ...changes.coco },
      dataset: { ...choices.dataset, ...changes.dataset },
    };
    if (this.s.exportDialog) this.s.exportDialog = { ...this.s.exportDialog, choices: this.exportChoices, report: null, error: null };
    this.changed('dialogs');
  }

  /** COCO: asks main's save dialog where to write (Save as…); cancelling keeps what was chosen before. */
  async chooseExportFile(): Promise<void> {
    if (!this.s.exportDialog) return;
    try {
      const { file } = await this.api.invoke('files.choose', { purpose: 'export-coco' });
      if (file && this.s.exportDialog) this.s.exportDialog = { ...this.s.exportDialog, file, report: null, error: null };
    } catch (error) {
      if (this.s.exportDialog) this.s.exportDialog = { ...this.s.exportDialog, error: messageOf(error) };
    }
    this.changed('dialogs');
  }

  /** COCO: back to a new file in the project's export folder. */
  clearExportFile(): void {
    if (!this.s.exportDialog) return;
    this.s.exportDialog = { ...this.s.exportDialog, file: null };
    this.changed('dialogs');
  }

  /** Writes the export the dialog shows (into the project's export folder, or the file chosen), and reports what it wrote. */
  async runExport(): Promise<void> {
    const { format, coco, dataset } = this.exportChoices;
    const file = this.s.exportDialog?.file ?? null;
    this.s.exportDialog = { choices: this.exportChoices, file, busy: true, report: null, error: null };
    this.changed('dialogs');
    try {
      const report = format === 'coco'
        ? { format, ...(await this.api.invoke('export.coco', { ...coco, ...(file && { file: file.handle }) })) }
        : await this.api.invoke('export.dataset', { format, ...dataset });
      if (this.s.exportDialog) this.s.exportDialog = { ...this.s.exportDialog, busy: false, report };
      this.say(describeExport(report).summary);
    } catch (error) {
      if (this.s.exportDialog) this.s.exportDialog = { ...this.s.exportDialog, busy: false, error: messageOf(error) };
      this.say(`Export failed: ${messageOf(error)}`);
    }
    this.changed('dialogs');
  }

  /** Opens the Import dialog (its format chosen there; main asks for the file). */
  openImport(format: ImportFormat = this.s.importDialog?.format ?? 'coco'): void {
    this.s.importDialog = { format, busy: false, report: null, error: null };
    this.changed('dialogs');
  }

  closeImport(): void {
    if (!this.s.importDialog || this.s.importDialog.busy) return;
    this.s.importDialog = null;
    this.changed('dialogs');
  }

  chooseImportFormat(format: ImportFormat): void {
    this.openImport(format);
  }

  /** Asks main to import (its dialog asks where from); what was added shows at once, and the report says the rest. */
  async runImport(): Promise<void> {
    const format = this.s.importDialog?.format ?? 'coco';
    this.s.importDialog = { format, busy: true, report: null, error: null };
    this.changed('dialogs');
    try {
      const report = await this.api.invoke('import.annotations', { format });
      this.s.importDialog = { format, busy: false, report, error: null };
      this.say(describeImport(report).summary);
      if (report.imported > 0) await this.refreshAll();
    } catch (error) {
      this.s.importDialog = { format, busy: false, report: null, error: messageOf(error) };
      this.say(`Import failed: ${messageOf(error)}`);
    }
    this.changed('dialogs');
  }

  /** Opens the Import Model dialog (from the desktop menu), with the choices of the last time it was open. */
  openModelImport(): void {
    this.s.modelImportDialog = { choices: this.modelImportChoices, busy: false, report: null, error: null };
    this.changed('dialogs');
  }

  closeModelImport(): void {
    if (!this.s.modelImportDialog || this.s.modelImportDialog.busy) return;
    this.s.modelImportDialog = null;
    this.changed('dialogs');
  }

  /** Changes what the Import Model dialog shows (the kind, the form's fields, the target). */
  editModelImport(changes: Partial<Omit<ModelImportChoices, 'files'>>): void {
    this.modelImportChoices = { ...this.modelImportChoices, ...changes };
    if (this.s.modelImportDialog) this.s.modelImportDialog = { ...this.s.modelImportDialog, choices: this.modelImportChoices, report: null, error: null };
    this.changed('dialogs');
  }

  /** Asks main's dialog for one of the model's files; cancelling keeps the one chosen before. */
  async chooseModelFile(file: ModelFile): Promise<void> {
    const dialog = this.s.modelImportDialog;
    if (!dialog || dialog.busy) return;
    this.s.modelImportDialog = { ...dialog, busy: true, error: null };
    this.changed('dialogs');
    let error: string | null = null;
    try {
      const chosen = (await this.api.invoke('files.choose', { purpose: MODEL_FILE_PURPOSE[file] })).file;
      if (chosen) this.modelImportChoices = { ...this.modelImportChoices, files: { ...this.modelImportChoices.files, [file]: chosen } };
    } catch (failure) {
      error = messageOf(failure);
    }
    if (this.s.modelImportDialog) this.s.modelImportDialog = { choices: this.modelImportChoices, busy: false, report: null, error };
    this.changed('dialogs');
  }

  /** Imports the model the dialog describes (main checks it against its graph), then offers it in the model picker. */
  async runModelImport(): Promise<void> {
    const request = modelImportRequest(this.modelImportChoices);
    if ('missing' in request) {
      if (this.s.modelImportDialog) this.s.modelImportDialog = { ...this.s.modelImportDialog, report: null, error: `Nothing imported: ${request.missing}` };
      this.changed('dialogs');
      return;
    }
    this.s.modelImportDialog = { choices: this.modelImportChoices, busy: true, report: null, error: null };
    this.changed('dialogs');
    try {
      const report = await this.api.invoke('models.import', request);
      this.s.modelImportDialog = { choices: this.modelImportChoices, busy: false, report, error: null };
      this.say(describeModelImport(report).summary);
      await this.loadModels();
      this.changed('project', 'settings');
    } catch (error) {
      this.s.modelImportDialog = { choices: this.modelImportChoices, busy: false, report: null, error: messageOf(error) };
      this.say(`Model import failed: ${messageOf(error)}`);
    }
    this.changed('dialogs');
  }

  say(message: string): void {
    this.s.message = message;
    this.changed('status');
  }

  // ---- internals ----

  /** Boxes on their way to the model are drawn with the tool's preview; a model that cannot take them disables the tool. */
  private promptsChanged(what: 'pending' | 'availability'): void {
    if (what === 'pending') return this.changed('tool');
    if (this.settings.tool === 'prompt' && this.prompts.unavailable !== null) {
      this.s.settings = { ...this.settings, tool: 'select' };
      this.say(this.prompts.unavailable);
    }
    this.changed('settings', 'tool');
  }

  /** The person did something: the last message has been read (it stays only until the next thing happens). */
  private acted(): void {
    if (this.s.message === '') return;
    this.s.message = '';
    this.changed('status');
  }

  private hover(id: AnnotationId | null): void {
    if (id === this.s.hovered) return;
    this.s.hovered = id;
    this.changed('hover');
  }

  private withClass(make: (category: CategoryId) => void): void {
    const active = this.settings.activeCategory;
    if (active !== null) return make(active);
    this.s.classRequest = { make };
    this.changed('prompt');
  }

  /** Hidden or locked instances leave the selection, so keys never act on what cannot be seen or is locked. */
  private dropUnpickableFromSelection(): void {
    const kept = this.selection.filter((id) => {
      const a = this.document?.get(id);
      return a !== undefined && this.isClassShown(a.categoryId) && !this.isClassLocked(a.categoryId);
    });
    if (kept.length !== this.selection.length) this.select(kept);
  }

  /** After a verdict: the next pending, pickable instance after `after` in panel order (wrapping), else none. */
  private selectNextPending(after: AnnotationId): void {
    const list = this.annotations;
    const start = list.findIndex((a) => a.id === after);
    for (let k = 1; k <= list.length; k++) {
      const a = list[(start + k) % list.length]!;
      if (a.state === 'pending' && this.isPickable(a)) return this.selectAndReveal(a.id);
    }
    this.select([]);
    this.say('No pending instance left on this image: Enter marks it reviewed.');
  }

  // ---- settings kept in the project ----

  /** Reads the project's saved settings into the session; what it returns also names the image and list filter. */
  private async loadProjectSettings(): Promise<ReviewSettings> {
    let saved: ReviewSettings = {};
    try {
      saved = (await this.api.invoke('project.settings', {})).settings;
    } catch (error) {
      this.say(`Settings: ${messageOf(error)}`);
    }
    const known = (ids: readonly CategoryId[] | undefined) => (ids ?? []).filter((id) => this.categories.some((c) => c.id === id));
    const tool = TOOL_NAMES.find((t) => t === saved.tool);
    const { imageFilter: _filter, imageId: _image, tool: _tool, hiddenCategories, lockedCategories, activeCategory, ...values } = saved;
    this.s.settings = {
      ...this.settings,
      ...values,
      ...(tool ? { tool } : {}),
      hiddenCategories: known(hiddenCategories),
      lockedCategories: known(lockedCategories),
      ...(activeCategory !== undefined && activeCategory !== null && known([activeCategory]).length === 1 ? { activeCategory } : {}),
    };
    this.settingsLoaded = true;
    this.changed('settings', 'tool');
    return saved;
  }

  private saveSettingsSoon(): void {
    if (!this.settingsLoaded) return;
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.background(this.flushSettings()), this.options.settingsDelayMs ?? 500);
  }

  /** Saves the settings now if a change is waiting (tests and leaving a project). */
  async flushSettings(): Promise<void> {
    if (this.saveTimer === null) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const { tool, threshold, opacity, brushSize, showMasks, showOutlines, showBoxes, showLabels, autoAdvance, activeCategory, hiddenCategories, lockedCategories } = this.settings;
    const settings: ReviewSettings = {
      tool, threshold, opacity, brushSize, showMasks, showOutlines, showBoxes, showLabels, autoAdvance, activeCategory,
      hiddenCategories: [...hiddenCategories], lockedCategories: [...lockedCategories],
      imageFilter: this.images.filter, imageId: this.requested,
    };
    await this.api.invoke('project.saveSettings', { settings });
  }

  private changed(...topics: Topic[]): void {
    const set = new Set(topics);
    for (const listener of [...this.listeners]) listener(set);
  }

  /** Runs work whose failure the person should read in the status bar. */
  private background(work: Promise<unknown>): void {
    work.catch((error: unknown) => this.say(messageOf(error)));
  }

  private toolPointer(input: PointerInput): ToolPointer {
    return { screen: input.screen, image: toImage(this.camera, input.screen), shift: !!input.shift, alt: !!input.alt, mod: !!input.mod };
  }

  private setCamera(camera: Camera): void {
    if (camera === this.camera) return;
    this.s.camera = camera;
    this.changed('camera');
  }

  private selectNext(): void {
    const visible = this.annotations.filter((a) => this.isVisible(a));
    if (visible.length === 0) return;
    const i = visible.findIndex((a) => a.id === this.primary);
    this.selectAndReveal(visible[(i + 1) % visible.length]!.id);
  }

  private closeImage({ keepTools = false }: { keepTools?: boolean } = {}): void {
    if (!keepTools) this.cancelClassRequest();
    this.s.hovered = null;
    this.documentSubscription?.dispose();
    this.documentSubscription = null;
    this.document?.dispose();
    this.s.document = null;
    this.s.image = null;
    this.s.picture = null;
    this.s.selection = [];
    if (!keepTools) for (const tool of Object.values(this.tools)) tool.cancel();
  }

  /** An image's pixels; null when they cannot be had (a file the scan found unreadable or missing is not asked for). */
  private pixelsOf(image: ImageRecord): Promise<P | null> {
    if (image.status === 'error' || image.missing) return Promise.resolve(null);
    return this.options.pictures.get(image).catch(() => null);
  }

  /** Shows what the store holds for the open image again, unless the person has asked for another image meanwhile. */
  private async reload(id: ImageId): Promise<void> {
    if (this.requested !== id) return;
    const image = await this.api.invoke('images.get', { id });
    if (this.requested === id) await this.open(image, { keepView: true });
  }

  /** Opens the image the project was left on if it is still there, else the first needing review, else the first. */
  private async openFirst(left: ImageId | null): Promise<void> {
    const last = left === null ? null : await this.api.invoke('images.get', { id: left }).catch(() => null);
    const first = last ?? (await this.api.invoke('images.nextToReview', { afterPath: null })).image ?? this.images.items[0];
    if (first) await this.open(first);
    else this.changed('image', 'annotations', 'selection', 'tool');
  }

  /** Each image keeps its own undo history while the app runs (the most recent images only). */
  private historyOf(id: ImageId): ImageHistory {
    let history = this.histories.get(id);
    if (history) this.histories.delete(id);
    history ??= new UndoStack<Annotation, ImageStatus>();
    this.histories.set(id, history);
    while (this.histories.size > HISTORIES) this.histories.delete(this.histories.keys().next().value!);
    return history;
  }

  /** How many steps of an image's history can be undone (0 when it has none). */
  private depthOf(id: ImageId): number {
    return this.histories.get(id)?.depth ?? 0;
  }

  /** The review that moved on to the open image, when nothing was done on either image since; else null. */
  private reviewToUndo(): ReviewMove | null {
    const open = this.image?.id;
    for (let i = this.reviewMoves.length - 1; i >= 0; i--) {
      const move = this.reviewMoves[i]!;
      if (move.to !== open) continue;
      return this.depthOf(move.to) === move.toDepth && this.depthOf(move.from) === move.fromDepth ? move : null;
    }
    return null;
  }

  /** Goes back to the reviewed image and undoes its review: the last step of its history. */
  private async undoReviewMove(move: ReviewMove): Promise<void> {
    const image = await this.api.invoke('images.get', { id: move.from });
    await this.open(image);
    if (this.image?.id === move.from) this.document?.undo();
  }

  private async save(image: ImageRecord, diff: Parameters<AnnotationDocument['commit']>[0], status?: ImageStatus): Promise<void> {
    try {
      await this.api.invoke('annotations.apply', {
        imageId: image.id,
        changes: { added: [...diff.added], updated: [...diff.updated], removed: [...diff.removed] },
        ...(status === undefined ? {} : { status }),
      });
    } catch (error) {
      this.background(this.reloadAfterFailedSave(image, error));
      throw error;
    }
    if (status !== undefined) this.say(status === 'reviewed' ? `${image.path} reviewed again` : `Review of ${image.path} undone: it is ${status} again`);
    this.background(this.refreshImage(image.id));
    // The comparison counts an extra taken, or an instance drawn, at once.
    if (this.learning.comparison && this.image?.id === image.id) this.background(this.learning.load(image));
  }

  /** A change main refused: show what is stored instead, so the screen never shows unsaved work as saved. */
  private async reloadAfterFailedSave(image: ImageRecord, error: unknown): Promise<void> {
    await this.whenSaved();
    this.histories.delete(image.id);
    await this.reload(image.id);
    this.say(`Could not save: ${messageOf(error)}. Showing the stored annotations.`);
  }

  private async loadCategories(): Promise<void> {
    this.s.categories = (await this.api.invoke('categories.list', {})).categories;
    const active = this.settings.activeCategory;
    if (active === null || !this.categories.some((c) => c.id === active)) {
      this.s.settings = { ...this.settings, activeCategory: this.categories[0]?.id ?? null };
      this.changed('settings');
    }
  }

  private async loadModels(): Promise<void> {
    await this.loadModelNames();
    try {
      const { models, problems, providers, active } = await this.api.invoke('models.installed', {});
      this.s.models = models;
      this.s.providers = providers;
      // The project's active model (its last run's, else the shipped default), as the CLI picks it; else the one
      // chosen before, a mask model, any.
      const preferred = models.find((m) => m.cardPath === active?.cardPath) ?? models.find((m) => m.cardPath === this.settings.model)
        ?? models.find((m) => m.format !== 'torchvision-fasterrcnn') ?? models[0];
      const provider = this.settings.provider === 'auto' || providers.includes(this.settings.provider) ? this.settings.provider : 'auto';
      this.s.settings = { ...this.settings, model: preferred?.cardPath ?? null, provider };
      if (problems.length > 0) this.say(`Some model cards could not be read: ${problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
    } catch (error) {
      this.say(`Models: ${messageOf(error)}`);
    }
    // Whether the chosen model (or the project's active one) can segment a drawn box.
    this.background(this.prompts.refresh());
  }

  /** The names of the models registered in the project, for the panel and the canvas labels. */
  private async loadModelNames(): Promise<void> {
    try {
      const { models } = await this.api.invoke('models.list', {});
      this.s.modelNames = new Map(models.map((m) => [m.id, { short: m.shortName, full: m.name }]));
      this.changed('project');
    } catch (error) {
      this.say(`Models: ${messageOf(error)}`);
    }
  }

  private async refreshImage(id: ImageId): Promise<void> {
    const image = await this.api.invoke('images.get', { id });
    this.images.update(image);
    if (this.s.image?.id === id) this.s.image = image;
    await this.refreshSummary();
  }

  /** New statuses for listed images that changed (a pre-label batch), so the list follows a run live. */
  private async refreshListed(ids: readonly ImageId[]): Promise<void> {
    const listed = new Set(this.images.items.map((i) => i.id));
    const wanted = ids.filter((id) => listed.has(id)).slice(0, 200);
    const images = await Promise.all(wanted.map((id) => this.api.invoke('images.get', { id })));
    for (const image of images) this.images.update(image);
  }

  private async refreshSummary(): Promise<void> {
    this.s.summary = await this.api.invoke('project.summary', {});
    this.changed('status', 'project');
  }

  /** Counts and the open image again, while another process writes to the store. */
  private async refreshOpen(): Promise<void> {
    await this.refreshSummary();
    if (this.requested !== null) await this.reload(this.requested);
  }

  /** After a run or an import wrote to the store: classes, model names, counts, the list and the open image. */
  private async refreshAll(): Promise<void> {
    await this.loadCategories();
    await this.loadModelNames();
    await this.refreshSummary();
    await this.images.setFilter(this.images.filter);
    if (this.requested !== null) await this.reload(this.requested);
  }

  /** A learning job ended: new model versions to pick from, the list's comparison counts, the open image's comparison. */
  private async afterLearningJob(): Promise<void> {
    await this.loadModels();
    this.changed('project', 'settings');
    await this.images.setFilter(this.images.filter);
    if (this.image) await this.learning.load(this.image);
  }

  /** Says why a run is not on the accelerator, once, when that run is first seen. */
  private noticeFallback(run: RunProgress): void {
    if (this.run?.runId === run.runId) return;
    const notice = fallbackNotice(run);
    if (notice) this.say(notice);
  }
}

function toggled<T>(list: readonly T[], item: T): T[] {
  return list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
}

function rescanText(found: Res<'project.rescan'>): string {
  const parts = [
    [found.added, 'new'], [found.changed, 'changed'], [found.moved, 'moved'], [found.missing, 'missing'], [found.errors, 'unreadable'],
  ].filter(([n]) => Number(n) > 0).map(([n, what]) => `${n} ${what}`);
  return `Rescanned ${found.files} image file${found.files === 1 ? '' : 's'}: ${parts.length > 0 ? parts.join(', ') : 'nothing changed'}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A v4 UUID; randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
