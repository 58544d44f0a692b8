// The toolbar, built once and updated in place (a control being dragged is never replaced under the pointer).
// Every control dispatches to the session; what it shows comes from the session.
import type { Disposable } from '../../app/ipc/contract.js';
import { PROVIDER_LABELS, type ProviderChoice } from '../../app/model/index.js';
import type { InstalledModel, ReviewSession, Topic } from '../editor/session.js';
import { BRUSH_SIZES, type Settings } from '../editor/settings.js';
import type { Action } from '../editor/shortcuts.js';
import { TOOL_NAMES, type ToolName } from '../editor/tools/index.js';
import { DisposableStore, everyFrame, h } from './dom.js';

const TOOL_LABELS: Record<ToolName, string> = { select: 'Select', box: 'Box', prompt: 'Box prompt', polygon: 'Polygon', vertices: 'Vertices', brush: 'Brush', eraser: 'Eraser' };

type NumberSetting = 'brushSize' | 'threshold' | 'opacity';
type FlagSetting = 'showMasks' | 'showOutlines' | 'showBoxes' | 'showLabels';

export class Toolbar implements Disposable {
  readonly element: HTMLElement;
  private readonly toolButtons = new Map<ToolName, HTMLButtonElement>();
  private readonly actionButtons = new Map<Action, HTMLButtonElement>();
  private readonly ranges: { key: NumberSetting; input: HTMLInputElement; output: HTMLOutputElement }[] = [];
  private readonly toggles: { key: FlagSetting; input: HTMLInputElement }[] = [];
  private readonly modelSelect = h('select', { 'data-testid': 'model', 'aria-label': 'Model for pre-labelling', title: 'Model for pre-labelling' });
  private readonly providerSelect = h('select', { 'data-testid': 'provider', 'aria-label': 'Where the model runs', title: 'Where the model runs' });
  private readonly prelabelButton = h('button', { 'data-testid': 'prelabel', onclick: () => void this.session.prelabel() }, 'Pre-label');
  /** What the model and provider lists were built from, so they are rebuilt only when it changes. */
  private listed: { models: readonly InstalledModel[]; providers: readonly string[] } | null = null;
  private readonly disposables = new DisposableStore();
  private readonly redraw = everyFrame(() => this.update());

  constructor(private readonly session: ReviewSession<unknown>) {
    const settings = session.settings;
    const button = (label: string, action: Action, attrs: Record<string, string> = {}) => {
      const el = h('button', { ...attrs, 'data-action': action, onclick: () => void session.perform(action) }, label);
      this.actionButtons.set(action, el);
      return el;
    };
    const range = (label: string, testid: string, key: NumberSetting, min: number, max: number, step: number) => {
      const input = h('input', { type: 'range', min, max, step, value: settings[key], 'data-testid': testid });
      const output = h('output', {}, String(settings[key]));
      input.addEventListener('input', () => session.updateSettings({ [key]: Number(input.value) }));
      this.ranges.push({ key, input, output });
      return h('label', { class: 'range' }, label, input, output);
    };
    const toggle = (label: string, testid: string, key: FlagSetting) => {
      const input = h('input', { type: 'checkbox', checked: settings[key], 'data-testid': testid });
      input.addEventListener('change', () => session.updateSettings({ [key]: input.checked }));
      this.toggles.push({ key, input });
      return h('label', { class: 'toggle' }, input, label);
    };
    const tools = TOOL_NAMES.map((tool) => {
      const el = button(TOOL_LABELS[tool], `tool.${tool}`);
      this.toolButtons.set(tool, el);
      return el;
    });
    this.modelSelect.addEventListener('change', () => session.updateSettings({ model: session.models[Number(this.modelSelect.value)]?.cardPath ?? null }));
    this.providerSelect.addEventListener('change', () => session.updateSettings({ provider: this.providerSelect.value as ProviderChoice }));
    this.element = h('header', { class: 'toolbar' },
      h('div', { class: 'group tools' }, ...tools),
      range('Brush', 'brush-size', 'brushSize', BRUSH_SIZES.min, BRUSH_SIZES.max, 1),
      h('div', { class: 'group' }, button('Undo', 'edit.undo'), button('Redo', 'edit.redo'), button('Fill holes', 'mask.fillHoles')),
      range('Threshold', 'threshold', 'threshold', 0, 1, 0.01),
      button('Accept ≥ threshold', 'instance.acceptAbove'),
      button('Reject < threshold', 'instance.rejectBelow', { title: 'Reject the pending predictions below the threshold (Shift+R)' }),
      range('Opacity', 'opacity', 'opacity', 0, 1, 0.05),
      h('div', { class: 'group' }, toggle('Masks', 'show-masks', 'showMasks'), toggle('Outlines', 'show-outlines', 'showOutlines'), toggle('Boxes', 'show-boxes', 'showBoxes'), toggle('Labels', 'show-labels', 'showLabels')),
      h('div', { class: 'group right' },
        this.modelSelect,
        this.providerSelect,
        this.prelabelButton,
        h('button', { 'data-testid': 'import', title: 'Import annotations: COCO, LabelMe or YOLO', onclick: () => session.openImport() }, 'Import…'),
        h('button', { 'data-testid': 'export', title: 'Export: COCO, YOLO, Pascal VOC or LabelMe', onclick: () => session.openExport() }, 'Export…'),
        h('button', { 'data-testid': 'models', title: 'Model versions: train a new one, evaluate, compare with reviewed', onclick: () => session.learning.setTableOpen(true) }, 'Models…'),
        button('Reviewed ⏎', 'review.done', { class: 'primary', 'data-testid': 'mark-reviewed' }),
        button('?', 'help.toggle', { title: 'Shortcuts (?)' })),
    );
    this.disposables.add(this.redraw);
    this.disposables.add(session.subscribe((topics: ReadonlySet<Topic>) => {
      if (topics.has('settings') || topics.has('project') || topics.has('annotations') || topics.has('selection') || topics.has('image') || topics.has('status')) {
        this.redraw.request();
      }
    }));
    this.update();
  }

  dispose(): void {
    this.disposables.dispose();
  }

  /** Brings every control in line with the session (settings changed by keys too). */
  private update(): void {
    const session = this.session;
    const settings: Settings = session.settings;
    for (const [tool, el] of this.toolButtons) {
      const active = tool === settings.tool;
      el.classList.toggle('active', active);
      el.setAttribute('aria-pressed', String(active));
    }
    this.actionButtons.get('edit.undo')!.disabled = !session.canUndo;
    // Another process's run holds the folder: the button says why it does not start one.
    const refusal = session.prelabelRefusal;
    this.prelabelButton.disabled = refusal !== null;
    this.prelabelButton.title = refusal ?? 'Pre-label every image not yet reviewed with the chosen model';
    // A model without split graphs cannot segment a box: the button says why.
    const prompt = this.toolButtons.get('prompt')!;
    prompt.disabled = session.prompts.unavailable !== null;
    prompt.title = session.prompts.unavailable ?? 'Box prompt (W): drag a box, the model segments and classifies what is in it';
    this.actionButtons.get('edit.redo')!.disabled = !session.document?.canRedo;
    this.actionButtons.get('mask.fillHoles')!.disabled = session.selection.length === 0;
    for (const { key, input, output } of this.ranges) {
      if (Number(input.value) !== settings[key]) input.value = String(settings[key]);
      output.textContent = String(settings[key]);
    }
    for (const { key, input } of this.toggles) input.checked = settings[key];
    this.listModels();
  }

  /** The models pre-labelling can use, and where it can run: 'auto' (the accelerator, else the CPU) first, then each one forced. */
  private listModels(): void {
    const { models, providers, settings } = this.session;
    if (this.listed?.models !== models || this.listed.providers !== providers) {
      this.listed = { models, providers };
      this.modelSelect.replaceChildren(...models.map((m, i) =>
        h('option', { value: i, 'data-card': m.cardPath }, `${m.name} (${m.format === 'torchvision-fasterrcnn' ? 'boxes' : 'masks'}, ${m.source})`)));
      this.modelSelect.hidden = models.length === 0;
      const accelerators = providers.filter((p) => p !== 'cpu').map((p) => PROVIDER_LABELS[p]);
      const auto = accelerators.length > 0 ? `Auto (${accelerators.join(', ')}, else CPU)` : 'Auto (CPU)';
      const choices: [ProviderChoice, string][] = [['auto', auto], ...providers.map((p): [ProviderChoice, string] => [p, PROVIDER_LABELS[p]])];
      this.providerSelect.replaceChildren(...choices.map(([value, label]) => h('option', { value }, label)));
    }
    const index = models.findIndex((m) => m.cardPath === settings.model);
    if (index >= 0 && this.modelSelect.value !== String(index)) this.modelSelect.value = String(index);
    if (this.providerSelect.value !== settings.provider) this.providerSelect.value = settings.provider;
  }
}
