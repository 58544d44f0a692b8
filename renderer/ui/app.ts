// The review screen: image list, canvas, side panel and toolbar, wired to one ImageEditor per image.
import { IMAGE_STATUSES, type Annotation, type AnnotationId, type Category, type ImageId, type ImageRecord, type ImageStatus } from '../../app/model/index.js';
import { UndoStack } from '../../app/history/index.js';
import { AnnotationId as toAnnotationId } from '../../app/model/index.js';
import type { Api, ProjectSummary, RunProgress } from '../../app/ipc/contract.js';
import { CanvasView } from '../canvas/canvas-view.js';
import { ImageEditor } from '../editor/image-editor.js';
import { copyMask, fillHoles } from '../editor/mask-ops.js';
import { actionFor, type Action } from '../editor/shortcuts.js';
import { BoxTool, BrushTool, PolygonTool, SelectTool, VertexTool, type Tool, type ToolContext, type ToolName } from '../editor/tools/index.js';
import { h } from './dom.js';
import { helpOverlay } from './help-overlay.js';
import { ImageList } from './image-list.js';
import type { Settings } from './settings.js';
import { SidePanel } from './side-panel.js';
import { Toolbar } from './toolbar.js';
import { PictureCache } from './picture-cache.js';
import { fallbackNotice, runStatusText } from './run-status.js';

export class App {
  private summary: ProjectSummary | null = null;
  private categories: Category[] = [];
  private editor: ImageEditor | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly tools: Record<ToolName, Tool>;
  private readonly settings: Settings = {
    tool: 'select', threshold: 0.5, brushRadius: 8, activeCategory: null, showMasks: true, showBoxes: true, showLabels: true, opacity: 0.45,
  };
  private readonly canvas: CanvasView;
  private readonly list: ImageList;
  private readonly el: Record<'status' | 'progress' | 'run' | 'message', HTMLElement>;
  private readonly toolbar: Toolbar;
  private readonly panel: SidePanel;
  private help: HTMLElement | null = null;
  private run: RunProgress | null = null;
  private opening = 0;
  private renderQueued = false;
  private readonly histories = new Map<ImageId, UndoStack<Annotation>>();
  private readonly pictures = new PictureCache((image) => this.api.imageUrl(image));

  constructor(root: HTMLElement, private readonly api: Api) {
    const canvasHost = h('div', { class: 'canvas', 'data-testid': 'canvas' });
    const listHost = h('aside', { class: 'images' });
    this.toolbar = new Toolbar(this.settings, {
      run: (action) => void this.perform(action),
      prelabel: () => void this.prelabel(),
      exportCoco: () => void this.exportCoco(),
      changed: () => this.render(),
    });
    this.panel = new SidePanel({
      select: (id) => this.selectAndReveal(id),
      setState: (id, state) => this.editor?.setState([id], state),
      pickClass: (index) => this.pickClass(index),
      createClass: (name) => this.createClass(name),
    });
    this.el = {
      status: h('div', { class: 'statusbar', 'data-testid': 'statusbar' }),
      progress: h('span', { class: 'progress', 'data-testid': 'progress' }),
      run: h('span', { class: 'run-controls' }),
      message: h('span', { class: 'message', 'data-testid': 'message' }),
    };
    this.el.status.append(this.el.progress, this.el.run, this.el.message);
    root.append(this.toolbar.element, h('div', { class: 'main' }, listHost, canvasHost, this.panel.element), this.el.status);
    listHost.append(this.filters());
    this.list = new ImageList(listHost, api, (image) => void this.open(image));

    const currentEditor = () => this.editor!;
    const ctx: ToolContext = {
      get editor() {
        return currentEditor();
      },
      activeCategory: () => this.settings.activeCategory,
      brushRadius: () => this.settings.brushRadius,
      tolerance: () => 6 / this.canvas.scale,
      isVisible: (id) => {
        const a = this.editor?.get(id as AnnotationId);
        return !!a && this.isVisible(a);
      },
    };
    this.tools = {
      select: new SelectTool(ctx), box: new BoxTool(ctx), polygon: new PolygonTool(ctx), vertices: new VertexTool(ctx),
      brush: new BrushTool(ctx, false), eraser: new BrushTool(ctx, true),
    };
    this.canvas = new CanvasView(canvasHost, {
      pointer: (kind, p, info) => {
        if (!this.editor) return;
        const tool = this.tools[this.settings.tool];
        if (kind === 'down') tool.down(p, info);
        else if (kind === 'move') tool.move(p);
        else tool.up(p);
        this.canvas.setPreview(tool.preview());
        if (kind !== 'move') this.render();
      },
      boxChanged: (id, bbox) => this.editor?.setBox(id, bbox),
      viewChanged: () => this.canvas.setPreview(this.tools[this.settings.tool].preview()),
    });
    window.addEventListener('keydown', (e) => this.onKey(e));
    // Edits are saved as they are made; only one still on its way is worth a warning.
    window.addEventListener('beforeunload', (e) => {
      if (this.editor && this.editor.unsaved > 0) e.preventDefault();
    });
    api.on('prelabel.progress', (progress) => {
      this.noticeFallback(progress);
      this.run = progress;
      this.renderStatus();
      if (progress.state === 'done' || progress.state === 'cancelled' || progress.state === 'failed') void this.refreshAfterRun();
    });
    api.on('app.command', (command) => {
      const done = (work: Promise<void>) => void work.catch((error: unknown) => this.say(error instanceof Error ? error.message : String(error)));
      if (command.command === 'open-folder') done(this.openFolder(command.folder));
      else if (command.command === 'export-coco') done(this.exportCoco());
      else if (command.command === 'undo' || command.command === 'redo') done(this.perform(`edit.${command.command}`));
      else this.say('Importing models is done from the desktop model manager.');
    });
    api.on('images.changed', ({ ids }) => {
      // Predictions written for the image on screen: show them (saved edits are in the store too).
      if (this.editor && ids.includes(this.editor.image.id)) void this.open(this.editor.image, true);
      void this.refreshListed(ids);
    });
  }

  async start(): Promise<void> {
    this.summary = await this.api.invoke('project.summary', {});
    await this.loadCategories();
    await this.loadModels();
    await this.list.setFilter({});
    this.render();
    const first = (await this.api.invoke('images.nextToReview', { afterPath: null })).image ?? this.list.loaded[0];
    if (first) await this.open(first);
  }

  /** Opens another folder as the project (desktop menu, recent list, dropped folder). */
  async openFolder(folder: string): Promise<void> {
    await this.editor?.whenSaved();
    this.summary = await this.api.invoke('project.open', { folder });
    this.unsubscribe?.();
    this.editor = null;
    this.histories.clear();
    await this.loadCategories();
    await this.loadModels();
    await this.list.setFilter(this.currentFilter());
    this.renderNow();
    const first = (await this.api.invoke('images.nextToReview', { afterPath: null })).image ?? this.list.loaded[0];
    if (first) await this.open(first);
  }

  // ---- test and benchmark hooks ----

  get currentEditor(): ImageEditor | null {
    return this.editor;
  }

  get view(): CanvasView {
    return this.canvas;
  }

  get toolName(): ToolName {
    return this.settings.tool;
  }

  /** The images loaded into the list so far, in list order. */
  get listedImages(): readonly ImageRecord[] {
    return this.list.loaded;
  }

  setTool(tool: ToolName): void {
    this.tools[this.settings.tool].cancel();
    this.settings.tool = tool;
    this.canvas.setPreview(this.tools[tool].preview());
    this.render();
  }

  /** Opens an image: pixels and annotations fetched together, then drawn. */
  async open(image: ImageRecord, keepView = false): Promise<void> {
    const ticket = ++this.opening;
    // Edits still on their way are in the store before its annotations are read (reopening the same image).
    await this.editor?.whenSaved();
    const [{ annotations }, picture] = await Promise.all([
      this.api.invoke('annotations.list', { imageId: image.id }),
      // A missing or undecodable file still opens, on a blank canvas, so its annotations stay reachable.
      this.pictures.get(image).catch(() => blankPicture(image)),
    ]);
    if (ticket !== this.opening) return;
    if (picture instanceof HTMLCanvasElement) this.say(`Could not load the pixels of ${image.path}${image.error ? `: ${image.error}` : ''}`);
    const keptSelection = this.editor?.image.id === image.id ? this.editor.selection : null;
    this.unsubscribe?.();
    for (const tool of Object.values(this.tools)) tool.cancel();
    this.editor = new ImageEditor({
      image,
      annotations,
      newId: () => toAnnotationId(newUuid()),
      history: this.historyOf(image.id),
      save: async (changes) => {
        try {
          const stored = await this.api.invoke('annotations.apply', { imageId: image.id, changes });
          void this.refreshImage(image.id);
          return stored.annotations;
        } catch (error) {
          void this.reloadAfterFailedSave(image, error);
          throw error;
        }
      },
    });
    if (keptSelection) this.editor.select(keptSelection);
    this.unsubscribe = this.editor.subscribe(() => this.render());
    if (!keepView) this.canvas.setImage(picture, image.width, image.height);
    this.list.highlight(image.id);
    this.renderNow();
    // The review flow goes forward: have the next image decoded before it is asked for.
    void this.list.neighbour(image.id, 1).then((next) => next && this.pictures.get(next)).catch(() => {});
  }

  // ---- actions ----

  async perform(action: Action): Promise<void> {
    const editor = this.editor;
    const selection = editor?.selection ?? null;
    const selected = selection ? [selection] : [];
    if (action.startsWith('tool.')) return this.setTool(action.slice(5) as ToolName);
    if (action.startsWith('class.')) return this.pickClass(Number(action.slice(6)) - 1);
    switch (action) {
      case 'brush.smaller': this.settings.brushRadius = Math.max(1, Math.round(this.settings.brushRadius / 1.25)); break;
      case 'brush.larger': this.settings.brushRadius = Math.min(200, Math.round(this.settings.brushRadius * 1.25) + 1); break;
      case 'mask.fillHoles': {
        const mask = selection && editor?.mask(selection);
        if (mask) editor!.setMask(selection!, fillHoles(copyMask(mask)));
        break;
      }
      case 'instance.delete': editor?.remove(selected); break;
      case 'instance.accept': editor?.setState(selected, 'accepted'); break;
      case 'instance.reject': editor?.setState(selected, 'rejected'); break;
      case 'instance.acceptAbove': editor?.acceptAbove(this.settings.threshold); break;
      case 'instance.crowd': {
        const current = selection && editor?.get(selection);
        if (current) editor!.setCrowd(selected, !current.crowd);
        break;
      }
      case 'instance.next': this.selectNext(); break;
      case 'instance.deselect': editor?.select(null); break;
      case 'edit.undo': editor?.undo(); break;
      case 'edit.redo': editor?.redo(); break;
      case 'view.fit': this.canvas.fit(); break;
      case 'view.zoomIn': this.canvas.zoomBy(1.25); break;
      case 'view.zoomOut': this.canvas.zoomBy(0.8); break;
      case 'view.masks': this.settings.showMasks = !this.settings.showMasks; break;
      case 'view.boxes': this.settings.showBoxes = !this.settings.showBoxes; break;
      case 'view.labels': this.settings.showLabels = !this.settings.showLabels; break;
      case 'review.done': return this.markReviewedAndNext();
      case 'image.next': return this.step(1);
      case 'image.previous': return this.step(-1);
      case 'help.toggle': return this.toggleHelp();
    }
    this.render();
  }

  async markReviewedAndNext(): Promise<void> {
    const editor = this.editor;
    if (!editor) return;
    await editor.whenSaved();
    const updated = await this.api.invoke('images.setStatus', { id: editor.image.id, status: 'reviewed' });
    this.list.update(updated);
    await this.refreshSummary();
    const next = (await this.api.invoke('images.nextToReview', { afterPath: editor.image.path })).image;
    if (next) await this.open(next);
    else this.say('Every image is reviewed.');
  }

  /** Each image keeps its own undo history while the app runs (the most recent images only). */
  private historyOf(id: ImageId): UndoStack<Annotation> {
    let history = this.histories.get(id);
    if (history) this.histories.delete(id);
    history ??= new UndoStack<Annotation>();
    this.histories.set(id, history);
    while (this.histories.size > 500) this.histories.delete(this.histories.keys().next().value!);
    return history;
  }

  /** A change main refused: show what is stored instead, so the screen never shows unsaved work as saved. */
  private async reloadAfterFailedSave(image: ImageRecord, error: unknown): Promise<void> {
    await this.editor?.whenSaved();
    this.histories.delete(image.id);
    if (this.editor?.image.id === image.id) await this.open(image, true);
    this.say(`Could not save: ${error instanceof Error ? error.message : String(error)}. Showing the stored annotations.`);
  }

  private async step(direction: 1 | -1): Promise<void> {
    if (!this.editor) return;
    const next = await this.list.neighbour(this.editor.image.id, direction);
    if (next) await this.open(next);
  }

  private pickClass(index: number): void {
    const category = this.categories[index];
    if (!category) return;
    this.settings.activeCategory = category.id;
    const selection = this.editor?.selection;
    if (selection) this.editor!.setCategory([selection], category.id);
    this.render();
  }

  private selectNext(): void {
    const editor = this.editor;
    if (!editor) return;
    const visible = editor.annotations.filter((a) => this.isVisible(a));
    if (visible.length === 0) return;
    const i = visible.findIndex((a) => a.id === editor.selection);
    this.selectAndReveal(visible[(i + 1) % visible.length]!.id);
  }

  /** Selects from the panel or the keyboard, bringing the instance on screen. */
  private selectAndReveal(id: AnnotationId): void {
    const a = this.editor?.get(id);
    if (!a) return;
    this.editor!.select(id);
    this.canvas.reveal(a.bbox);
  }

  private toggleHelp(): void {
    if (this.help) {
      this.help.remove();
      this.help = null;
    } else {
      this.help = helpOverlay(() => this.toggleHelp());
      document.body.append(this.help);
    }
  }

  private onKey(e: KeyboardEvent): void {
    if (isTextEntry(e.target)) return;
    const tool = this.tools[this.settings.tool];
    if (!e.ctrlKey && !e.metaKey && tool.key(e.key)) {
      e.preventDefault();
      this.canvas.setPreview(tool.preview());
      return;
    }
    const action = actionFor(e);
    if (!action) return;
    e.preventDefault();
    void this.perform(action).catch((error: unknown) => this.say(String(error instanceof Error ? error.message : error)));
  }

  private isVisible(a: Annotation): boolean {
    return a.state !== 'rejected' && (a.score === null || a.origin !== 'model' || a.score >= this.settings.threshold);
  }

  // ---- data refresh ----

  private async loadCategories(): Promise<void> {
    this.categories = (await this.api.invoke('categories.list', {})).categories;
    if (this.settings.activeCategory === null || !this.categories.some((c) => c.id === this.settings.activeCategory)) {
      this.settings.activeCategory = this.categories[0]?.id ?? null;
    }
  }

  private async loadModels(): Promise<void> {
    try {
      const { models, problems, providers } = await this.api.invoke('models.installed', {});
      this.toolbar.setModels(models);
      this.toolbar.setProviders(providers);
      if (problems.length > 0) this.say(`Some model cards could not be read: ${problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
    } catch (error) {
      this.say(`Models: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async refreshImage(id: ImageRecord['id']): Promise<void> {
    this.list.update(await this.api.invoke('images.get', { id }));
    await this.refreshSummary();
  }

  /** New statuses for listed images that changed (a pre-label batch), so the list follows a run live. */
  private async refreshListed(ids: readonly ImageId[]): Promise<void> {
    const listed = new Set(this.list.loaded.map((i) => i.id));
    const wanted = ids.filter((id) => listed.has(id)).slice(0, 200);
    const images = await Promise.all(wanted.map((id) => this.api.invoke('images.get', { id })));
    for (const image of images) this.list.update(image);
  }

  private async refreshSummary(): Promise<void> {
    this.summary = await this.api.invoke('project.summary', {});
    this.renderStatus();
  }

  private async refreshAfterRun(): Promise<void> {
    await this.loadCategories();
    await this.refreshSummary();
    await this.list.setFilter(this.currentFilter());
    if (this.editor) await this.open(await this.api.invoke('images.get', { id: this.editor.image.id }), true);
  }

  /** Says why a run is not on the accelerator, once, when that run is first seen. */
  private noticeFallback(run: RunProgress): void {
    if (this.run?.runId === run.runId) return;
    const notice = fallbackNotice(run);
    if (notice) this.say(notice);
  }

  private say(message: string): void {
    this.el.message.textContent = message;
  }

  // ---- rendering ----

  private render(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => this.renderNow());
  }

  private renderNow(): void {
    this.renderQueued = false;
    const editor = this.editor;
    this.canvas.setDisplay({ showMasks: this.settings.showMasks, showBoxes: this.settings.showBoxes, showLabels: this.settings.showLabels, opacity: this.settings.opacity });
    if (editor) {
      this.canvas.setScene({
        annotations: editor.annotations,
        categories: new Map(this.categories.map((c) => [c.id, c])),
        visible: (a) => this.isVisible(a),
        selection: editor.selection,
        transformable: this.settings.tool === 'select',
      });
    }
    this.canvas.setPreview(this.tools[this.settings.tool].preview());
    this.toolbar.update(editor);
    this.panel.update({
      title: editor ? editor.image.path : 'No image',
      annotations: editor?.annotations ?? [],
      selection: editor?.selection ?? null,
      categories: this.categories,
      activeCategory: this.settings.activeCategory,
      isVisible: (a) => this.isVisible(a),
    });
    this.renderClassFilter();
    this.renderStatus();
  }

  private renderClassFilter(): void {
    const key = this.categories.map((c) => `${c.id}:${c.name}`).join();
    if (this.filterClass.dataset.key === key) return;
    this.filterClass.dataset.key = key;
    const chosen = this.filterClass.value;
    this.filterClass.replaceChildren(h('option', { value: '' }, 'All classes'),
      ...this.categories.map((c) => h('option', { value: c.id, selected: String(c.id) === chosen }, c.name)));
  }

  private async createClass(name: string): Promise<void> {
    try {
      const category = await this.api.invoke('categories.create', { name });
      await this.loadCategories();
      this.settings.activeCategory = category.id;
      this.render();
    } catch (error) {
      this.say(error instanceof Error ? error.message : String(error));
    }
  }

  private filterStatus = h('select', { 'data-testid': 'filter-status', 'aria-label': 'Status' });
  private filterClass = h('select', { 'data-testid': 'filter-class', 'aria-label': 'Class' });
  private filterSearch = h('input', { type: 'search', placeholder: 'Search file names', 'data-testid': 'filter-search' });

  private filters(): HTMLElement {
    this.filterStatus.append(h('option', { value: '' }, 'All statuses'), ...IMAGE_STATUSES.map((s) => h('option', { value: s }, s)));
    const apply = () => void this.list.setFilter(this.currentFilter());
    this.filterStatus.addEventListener('change', apply);
    this.filterClass.addEventListener('change', apply);
    let timer = 0;
    this.filterSearch.addEventListener('input', () => {
      clearTimeout(timer);
      timer = window.setTimeout(apply, 200);
    });
    return h('div', { class: 'filters' }, this.filterSearch, this.filterStatus, this.filterClass);
  }

  private currentFilter() {
    const status = this.filterStatus.value as ImageStatus | '';
    const categoryId = Number(this.filterClass.value);
    const search = this.filterSearch.value.trim();
    return {
      ...(status ? { status } : {}),
      ...(categoryId > 0 ? { categoryId } : {}),
      ...(search ? { search } : {}),
    };
  }

  private renderStatus(): void {
    const summary = this.summary;
    const reviewed = summary?.byStatus.reviewed ?? 0;
    const total = summary?.total ?? 0;
    let text = `Reviewed ${reviewed} / ${total}`;
    if (this.run) text += ` · ${runStatusText(this.run)}`;
    if (this.editor?.notice) text += ` · ${this.editor.notice}`;
    this.el.progress.textContent = text;
    this.el.progress.title = this.run?.engine.fallback ?? '';
    this.el.progress.dataset.reviewed = String(reviewed);
    this.renderRunControls();
  }

  /** Pause/resume and cancel for a pre-label run in progress. */
  private renderRunControls(): void {
    const run = this.run;
    const active = run !== null && (run.state === 'running' || run.state === 'paused');
    const key = active ? `${run.runId}:${run.state}` : '';
    if (this.el.run.dataset.key === key) return;
    this.el.run.dataset.key = key;
    if (!active) return this.el.run.replaceChildren();
    const control = (label: string, channel: 'prelabel.pause' | 'prelabel.resume' | 'prelabel.cancel') =>
      h('button', {
        'data-testid': channel,
        onclick: () => void this.api.invoke(channel, { runId: run.runId }).catch((error: Error) => this.say(error.message)),
      }, label);
    this.el.run.replaceChildren(
      run.state === 'running' ? control('Pause', 'prelabel.pause') : control('Resume', 'prelabel.resume'),
      control('Cancel', 'prelabel.cancel'),
    );
  }

  private async prelabel(): Promise<void> {
    try {
      const model = this.toolbar.selectedModel();
      // Keep every prediction the slider could show: a slider set below the card's threshold lowers it.
      const threshold = Math.min(model?.thresholds.score ?? 0.5, this.settings.threshold);
      const provider = this.toolbar.selectedProvider();
      const run = await this.api.invoke('prelabel.start', { ...(model?.id ? { modelId: model.id } : {}), threshold, provider });
      this.noticeFallback(run);
      this.run = run;
      this.renderStatus();
    } catch (error) {
      this.say(error instanceof Error ? error.message : String(error));
    }
  }

  private async exportCoco(): Promise<void> {
    try {
      const result = await this.api.invoke('export.coco', { reviewedOnly: false });
      this.say(`Exported ${result.images} images, ${result.annotations} annotations to ${result.path}`);
    } catch (error) {
      this.say(error instanceof Error ? error.message : String(error));
    }
  }
}

function blankPicture(image: ImageRecord): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, image.width);
  canvas.height = Math.max(1, image.height);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#3a3a3a';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return canvas;
}

/** Typing into a text field, a select or a text area keeps its keys; sliders and checkboxes do not. */
function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !['range', 'checkbox', 'radio', 'button', 'submit'].includes(target.type);
  return target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement || target.isContentEditable;
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
