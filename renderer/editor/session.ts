// The review session: the headless engine behind the review screen. It owns the project as the UI sees it
// (summary, classes, models, the image list), the image under review (its pixels, its annotations and their
// per-image undo history), the selection, the settings and what is visible, the camera, the active tool and
// its state, the pre-label run's progress and the status message; every action a key, a button or the
// pointer can take is a method here. Views subscribe to topics and dispatch; none holds state of its own.
// No DOM and no Konva: it runs in Vitest as it runs in the page.
import { UndoStack } from '../../app/history/index.js';
import type { ScreenPoint } from '../../app/geometry/points.js';
import type { Api, Channel, Disposable, ImageSort, ProjectSummary, Res, RunProgress } from '../../app/ipc/contract.js';
import {
  AnnotationId, type Annotation, type Bbox, type Category, type ImageId, type ImageRecord, type ProviderName, type ReviewState,
} from '../../app/model/index.js';
import { fitCamera, IDENTITY, panCamera, revealCamera, toImage, zoomCamera, type Camera, type Size } from './camera.js';
import { AnnotationDocument } from './document.js';
import { ImageQueue, type ImageFilterInput } from './image-queue.js';
import { Learning } from './learning.js';
import { copyMask, fillHoles } from './mask-ops.js';
import { fallbackNotice } from './run-status.js';
import { DEFAULT_SETTINGS, type Settings } from './settings.js';
import { actionFor, type Action, type KeyPress } from './shortcuts.js';
import { createTools, primaryOf, type Preview, type Tool, type ToolContext, type ToolName, type ToolPointer } from './tools/index.js';

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
  | 'learning'; // the model table, the learning job, the open image's comparison

export type InstalledModel = Res<'models.installed'>['models'][number];

/** Decoded pictures, by image; the page gives HTMLImageElements, tests anything. */
export interface PictureSource<P> {
  /** Rejects when the file cannot be fetched or decoded. */
  get(image: ImageRecord): Promise<P>;
}

export interface SessionOptions<P> {
  readonly pictures: PictureSource<P>;
  /** Ids for new annotations; random UUIDs by default. */
  readonly newId?: () => AnnotationId;
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
  message: string;
  helpOpen: boolean;
}

/** How many images keep their undo history while the app runs (the most recently opened). */
const HISTORIES = 500;

export class ReviewSession<P = unknown> implements Disposable {
  /** The session's state; read through the getters below, changed only by the session's own actions. */
  private readonly s: SessionState<P> = {
    summary: null, categories: [], models: [], providers: [], image: null, picture: null, document: null, selection: [],
    settings: DEFAULT_SETTINGS, camera: IDENTITY, viewport: { width: 800, height: 600 }, run: null, message: '', helpOpen: false,
  };
  readonly images: ImageQueue;
  /** Model versions, training, evaluation and the comparison with what was reviewed. */
  readonly learning: Learning;

  private readonly tools: Record<ToolName, Tool>;
  private readonly listeners = new Set<(topics: ReadonlySet<Topic>) => void>();
  private readonly disposables: Disposable[] = [];
  private documentSubscription: Disposable | null = null;
  private readonly histories = new Map<ImageId, UndoStack<Annotation>>();
  private readonly newId: () => AnnotationId;
  private opening = 0;
  /** The image last asked for: a reload for another one (a run's batch arriving late) gives way to it. */
  private requested: ImageId | null = null;
  private spaceHeld = false;
  /** Where the last pan step left the pointer, while panning. */
  private panning: ScreenPoint | null = null;

  constructor(private readonly api: Api, private readonly options: SessionOptions<P>) {
    this.newId = options.newId ?? (() => AnnotationId(newUuid()));
    this.images = new ImageQueue(api, () => this.changed('list'));
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
      brushRadius: () => this.settings.brushRadius,
      pixelSize: () => 1 / this.camera.scale,
      isVisible: (a) => this.isVisible(a),
      say: (message) => this.say(message),
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
        if (progress.state === 'done' || progress.state === 'cancelled' || progress.state === 'failed') this.background(this.refreshAfterRun());
      }),
      api.on('app.command', (command) => {
        if (command.command === 'open-folder') this.background(this.openFolder(command.folder));
        else if (command.command === 'export-coco') this.background(this.exportCoco());
        else if (command.command === 'undo') this.undo();
        else if (command.command === 'redo') this.redo();
        else this.say('Importing models is done from the desktop model manager.');
      }),
      api.on('learning.progress', (job) => this.learning.progress(job)),
      api.on('images.changed', ({ ids }) => {
        // Predictions written for the image on screen: show them (saved edits are in the store too).
        if (this.image && ids.includes(this.image.id)) this.background(this.reload(this.image.id));
        this.background(this.refreshListed(ids));
      }),
    );
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

  /** The status bar's message: what just happened or went wrong. */
  get message(): string {
    return this.s.message;
  }

  get helpOpen(): boolean {
    return this.s.helpOpen;
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

  /** Shown on the canvas and pickable: not rejected, not a prediction below the threshold, of the filtered class if any. */
  isVisible(a: Annotation): boolean {
    if (a.state === 'rejected') return false;
    if (a.origin === 'model' && a.score !== null && a.score < this.settings.threshold) return false;
    const only = this.images.filter.categoryId;
    return only === undefined || a.categoryId === only;
  }

  // ---- lifecycle ----

  /** Loads the open project and opens the first image that needs review. */
  async start(): Promise<void> {
    this.s.summary = await this.api.invoke('project.summary', {});
    await this.loadCategories();
    await this.loadModels();
    this.changed('project');
    // The model table is not needed to review: a build without the learning loop still starts.
    void this.learning.refresh().catch(() => {});
    await this.images.setFilter({});
    await this.openFirst();
  }

  /** Opens another folder as the project (desktop menu, recent list, dropped folder). */
  async openFolder(folder: string): Promise<void> {
    await this.whenSaved();
    this.s.summary = await this.api.invoke('project.open', { folder });
    this.closeImage();
    this.histories.clear();
    await this.loadCategories();
    await this.loadModels();
    this.changed('project', 'status');
    await this.images.setFilter(this.images.filter);
    await this.openFirst();
  }

  dispose(): void {
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.closeImage();
    this.listeners.clear();
  }

  // ---- images ----

  /** Opens an image: pixels and annotations fetched together, then shown; `keepView` keeps the camera (a refresh). */
  async open(image: ImageRecord, { keepView = false }: { keepView?: boolean } = {}): Promise<void> {
    const ticket = ++this.opening;
    this.requested = image.id;
    // Edits still on their way are in the store before its annotations are read (reopening the same image).
    await this.whenSaved();
    const [{ annotations }, picture] = await Promise.all([
      this.api.invoke('annotations.list', { imageId: image.id }),
      this.options.pictures.get(image).catch(() => null),
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
      save: (diff) => this.save(image, diff),
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
    // The review flow goes forward: have the next image decoded before it is asked for.
    void this.images.neighbour(image.id, 1).then((next) => next && this.options.pictures.get(next)).catch(() => {});
  }

  /** The next (1) or previous (-1) image in the list. */
  async step(direction: 1 | -1): Promise<void> {
    if (!this.image) return;
    const next = await this.images.neighbour(this.image.id, direction);
    if (next) await this.open(next);
  }

  /** Marks the open image reviewed and opens the next one that needs review. */
  async markReviewedAndNext(): Promise<void> {
    const image = this.image;
    if (!image) return;
    await this.whenSaved();
    // Settled as shown: predictions visible at this threshold and class filter accepted, the hidden ones rejected.
    const only = this.images.filter.categoryId;
    const hiddenCategoryIds = only === undefined ? [] : this.categories.filter((c) => c.id !== only).map((c) => c.id);
    const settled = await this.api.invoke('review.markReviewed', { imageId: image.id, threshold: this.settings.threshold, hiddenCategoryIds });
    this.images.update(settled.image);
    await this.refreshSummary();
    const said = `${image.path} reviewed: accepted ${settled.accepted}, rejected ${settled.rejected}`;
    const next = (await this.api.invoke('images.nextToReview', { afterPath: image.path })).image;
    if (next) await this.open(next);
    this.say(next ? said : `${said}. Every image is reviewed.`);
  }

  /** The list's order: by path, or most uncertain first. */
  async setImageSort(sort: ImageSort): Promise<void> {
    await this.images.setSort(sort);
  }

  async setImageFilter(filter: ImageFilterInput): Promise<void> {
    const shown = this.images.setFilter(filter);
    // The class filter also decides what the canvas and the panel show.
    this.changed('settings', 'annotations');
    await shown;
  }

  // ---- selection ----

  /** Selects these instances (of the open image), in this order. */
  select(ids: readonly AnnotationId[]): void {
    const document = this.document;
    const next = [...new Set(ids)].filter((id) => document?.get(id));
    if (next.length === this.selection.length && next.every((id, i) => id === this.selection[i])) return;
    this.s.selection = next;
    this.changed('selection', 'tool');
  }

  /** Selects one instance from the panel or the keyboard, bringing it on screen. */
  selectAndReveal(id: AnnotationId): void {
    const a = this.document?.get(id);
    if (!a) return;
    this.select([id]);
    this.reveal(a.bbox);
  }

  // ---- settings ----

  setTool(tool: ToolName): void {
    this.tool.cancel();
    this.s.settings = { ...this.settings, tool };
    this.changed('settings', 'tool');
  }

  updateSettings(changes: Partial<Omit<Settings, 'tool'>>): void {
    this.s.settings = { ...this.settings, ...changes };
    this.changed('settings', 'tool');
  }

  /** Makes the index-th class the one for new instances, and reclassifies the selection. */
  pickClass(index: number): void {
    const category = this.categories[index];
    if (!category) return;
    this.updateSettings({ activeCategory: category.id });
    if (this.selection.length > 0) this.document?.setCategory(this.selection, category.id);
  }

  async createClass(name: string): Promise<boolean> {
    try {
      const category = await this.api.invoke('categories.create', { name });
      await this.loadCategories();
      this.s.settings = { ...this.settings, activeCategory: category.id };
      this.changed('project', 'settings');
      return true;
    } catch (error) {
      this.say(messageOf(error));
      return false;
    }
  }

  // ---- edits ----

  setReviewState(ids: readonly AnnotationId[], state: ReviewState): void {
    this.document?.setState(ids, state);
  }

  undo(): void {
    this.tool.cancel();
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
    if (action.startsWith('tool.')) return this.setTool(action.slice(5) as ToolName);
    if (action.startsWith('class.')) return this.pickClass(Number(action.slice(6)) - 1);
    switch (action) {
      case 'brush.smaller': return this.updateSettings({ brushRadius: Math.max(1, Math.round(this.settings.brushRadius / 1.25)) });
      case 'brush.larger': return this.updateSettings({ brushRadius: Math.min(200, Math.round(this.settings.brushRadius * 1.25) + 1) });
      case 'mask.fillHoles': {
        const mask = primary && document?.mask(primary.id);
        if (mask) document!.setMask(primary!.id, fillHoles(copyMask(mask)));
        return;
      }
      case 'instance.delete': return document?.remove(selection);
      case 'instance.accept': return this.setReviewState(selection, 'accepted');
      case 'instance.reject': return this.setReviewState(selection, 'rejected');
      case 'instance.acceptAbove': {
        document?.acceptAbove(this.settings.threshold, (a) => this.isVisible(a));
        return;
      }
      case 'instance.crowd': return primary ? document!.setCrowd(selection, !primary.crowd) : undefined;
      case 'instance.next': return this.selectNext();
      case 'instance.deselect': return this.select([]);
      case 'edit.undo': return this.undo();
      case 'edit.redo': return this.redo();
      case 'view.fit': return this.fit();
      case 'view.zoomIn': return this.zoomBy(1.25);
      case 'view.zoomOut': return this.zoomBy(0.8);
      case 'view.masks': return this.updateSettings({ showMasks: !this.settings.showMasks });
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
    this.changed('tool');
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

  async exportCoco(): Promise<void> {
    try {
      // The CLI's defaults: the reviewed truth of the reviewed images.
      const result = await this.api.invoke('export.coco', {});
      const notes = [
        ...(result.leftOut.length > 0 ? [`left out ${result.leftOut.length}: ${result.leftOut.map((l) => `${l.path} (${l.reason})`).join(', ')}`] : []),
        ...(result.staleLeftOut.length > 0 ? [`stale annotations left out on ${result.staleLeftOut.map((l) => l.path).join(', ')}`] : []),
      ];
      this.say(`Exported ${result.images} images, ${result.annotations} annotations to ${result.path}${notes.map((n) => `; ${n}`).join('')}`);
    } catch (error) {
      this.say(messageOf(error));
    }
  }

  say(message: string): void {
    this.s.message = message;
    this.changed('status');
  }

  // ---- internals ----

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
    this.documentSubscription?.dispose();
    this.documentSubscription = null;
    this.document?.dispose();
    this.s.document = null;
    this.s.image = null;
    this.s.picture = null;
    this.s.selection = [];
    if (!keepTools) for (const tool of Object.values(this.tools)) tool.cancel();
  }

  /** Shows what the store holds for the open image again, unless the person has asked for another image meanwhile. */
  private async reload(id: ImageId): Promise<void> {
    if (this.requested !== id) return;
    const image = await this.api.invoke('images.get', { id });
    if (this.requested === id) await this.open(image, { keepView: true });
  }

  private async openFirst(): Promise<void> {
    const first = (await this.api.invoke('images.nextToReview', { afterPath: null })).image ?? this.images.items[0];
    if (first) await this.open(first);
    else this.changed('image', 'annotations', 'selection', 'tool');
  }

  /** Each image keeps its own undo history while the app runs (the most recent images only). */
  private historyOf(id: ImageId): UndoStack<Annotation> {
    let history = this.histories.get(id);
    if (history) this.histories.delete(id);
    history ??= new UndoStack<Annotation>();
    this.histories.set(id, history);
    while (this.histories.size > HISTORIES) this.histories.delete(this.histories.keys().next().value!);
    return history;
  }

  private async save(image: ImageRecord, diff: Parameters<AnnotationDocument['commit']>[0]): Promise<void> {
    try {
      await this.api.invoke('annotations.apply', { imageId: image.id, changes: { added: [...diff.added], updated: [...diff.updated], removed: [...diff.removed] } });
    } catch (error) {
      this.background(this.reloadAfterFailedSave(image, error));
      throw error;
    }
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
    try {
      const { models, problems, providers } = await this.api.invoke('models.installed', {});
      this.s.models = models;
      this.s.providers = providers;
      // The model chosen before if it is still there, else a mask model, else any.
      const preferred = models.find((m) => m.cardPath === this.settings.model) ?? models.find((m) => m.format !== 'torchvision-fasterrcnn') ?? models[0];
      const provider = this.settings.provider === 'auto' || providers.includes(this.settings.provider) ? this.settings.provider : 'auto';
      this.s.settings = { ...this.settings, model: preferred?.cardPath ?? null, provider };
      if (problems.length > 0) this.say(`Some model cards could not be read: ${problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
    } catch (error) {
      this.say(`Models: ${messageOf(error)}`);
    }
  }

  private async refreshImage(id: ImageId): Promise<void> {
    this.images.update(await this.api.invoke('images.get', { id }));
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

  private async refreshAfterRun(): Promise<void> {
    await this.loadCategories();
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
