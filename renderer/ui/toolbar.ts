// The toolbar, built once and updated in place (a control being dragged is never replaced under the pointer).
import type { Res } from '../../app/ipc/contract.js';
import { PROVIDER_LABELS, type ProviderChoice, type ProviderName } from '../../app/model/index.js';
import type { Action } from '../editor/shortcuts.js';
import type { ToolName } from '../editor/tools/index.js';
import { h } from './dom.js';
import type { Settings } from './settings.js';

export interface ToolbarHooks {
  run(action: Action): void;
  prelabel(): void;
  exportCoco(): void;
  /** A setting changed: redraw. */
  changed(): void;
}

const TOOL_LABELS: Record<ToolName, string> = { select: 'Select', box: 'Box', polygon: 'Polygon', vertices: 'Vertices', brush: 'Brush', eraser: 'Eraser' };

export type InstalledModel = Res<'models.installed'>['models'][number];

type NumberSetting = 'brushRadius' | 'threshold' | 'opacity';
type FlagSetting = 'showMasks' | 'showBoxes' | 'showLabels';

export class Toolbar {
  readonly element: HTMLElement;
  private readonly toolButtons = new Map<ToolName, HTMLButtonElement>();
  private readonly actionButtons = new Map<Action, HTMLButtonElement>();
  private readonly ranges: { key: NumberSetting; input: HTMLInputElement; output: HTMLOutputElement }[] = [];
  private readonly toggles: { key: FlagSetting; input: HTMLInputElement }[] = [];
  private readonly modelSelect = h('select', { 'data-testid': 'model', 'aria-label': 'Model for pre-labelling', title: 'Model for pre-labelling' });
  private models: readonly InstalledModel[] = [];
  private readonly providerSelect = h('select', { 'data-testid': 'provider', 'aria-label': 'Where the model runs', title: 'Where the model runs' });

  constructor(private readonly settings: Settings, private readonly hooks: ToolbarHooks) {
    const button = (label: string, action: Action, attrs: Record<string, string> = {}) => {
      const el = h('button', { ...attrs, 'data-action': action, onclick: () => hooks.run(action) }, label);
      this.actionButtons.set(action, el);
      return el;
    };
    const range = (label: string, testid: string, key: NumberSetting, min: number, max: number, step: number) => {
      const input = h('input', { type: 'range', min, max, step, value: settings[key], 'data-testid': testid });
      const output = h('output', {}, String(settings[key]));
      input.addEventListener('input', () => {
        settings[key] = Number(input.value);
        output.textContent = input.value;
        hooks.changed();
      });
      this.ranges.push({ key, input, output });
      return h('label', { class: 'range' }, label, input, output);
    };
    const toggle = (label: string, testid: string, key: FlagSetting) => {
      const input = h('input', { type: 'checkbox', checked: settings[key], 'data-testid': testid });
      input.addEventListener('change', () => {
        settings[key] = input.checked;
        hooks.changed();
      });
      this.toggles.push({ key, input });
      return h('label', { class: 'toggle' }, input, label);
    };
    const tools = (Object.keys(TOOL_LABELS) as ToolName[]).map((tool) => {
      const el = button(TOOL_LABELS[tool], `tool.${tool}` as Action);
      this.toolButtons.set(tool, el);
      return el;
    });
    this.element = h('header', { class: 'toolbar' },
      h('div', { class: 'group tools' }, ...tools),
      range('Brush', 'brush-size', 'brushRadius', 1, 100, 1),
      h('div', { class: 'group' }, button('Undo', 'edit.undo'), button('Redo', 'edit.redo'), button('Fill holes', 'mask.fillHoles')),
      range('Threshold', 'threshold', 'threshold', 0, 1, 0.01),
      button('Accept ≥ threshold', 'instance.acceptAbove'),
      range('Opacity', 'opacity', 'opacity', 0, 1, 0.05),
      h('div', { class: 'group' }, toggle('Masks', 'show-masks', 'showMasks'), toggle('Boxes', 'show-boxes', 'showBoxes'), toggle('Labels', 'show-labels', 'showLabels')),
      h('div', { class: 'group right' },
        this.modelSelect,
        this.providerSelect,
        h('button', { 'data-testid': 'prelabel', onclick: () => hooks.prelabel() }, 'Pre-label'),
        h('button', { 'data-testid': 'export', onclick: () => hooks.exportCoco() }, 'Export COCO'),
        button('Reviewed ⏎', 'review.done', { class: 'primary', 'data-testid': 'mark-reviewed' }),
        button('?', 'help.toggle', { title: 'Shortcuts (?)' })),
    );
  }

  /** The models pre-labelling can use; mask models are preferred as the default. */
  setModels(models: readonly InstalledModel[]): void {
    const previous = this.selectedModel()?.cardPath;
    this.models = models;
    const preferred = models.find((m) => m.cardPath === previous) ?? models.find((m) => m.format !== 'torchvision-fasterrcnn') ?? models[0];
    this.modelSelect.replaceChildren(...models.map((m, i) =>
      h('option', { value: i, selected: m === preferred }, `${m.name} (${m.format === 'torchvision-fasterrcnn' ? 'boxes' : 'masks'}, ${m.source})`)));
    this.modelSelect.hidden = models.length === 0;
  }

  selectedModel(): InstalledModel | undefined {
    return this.models[Number(this.modelSelect.value)];
  }

  /** Where pre-labelling may run: 'auto' (this platform's accelerator, else the CPU) first, then each one forced. */
  setProviders(providers: readonly ProviderName[]): void {
    const previous = this.providerSelect.value || 'auto';
    const accelerators = providers.filter((p) => p !== 'cpu').map((p) => PROVIDER_LABELS[p]);
    const auto = accelerators.length > 0 ? `Auto (${accelerators.join(', ')}, else CPU)` : 'Auto (CPU)';
    const choices: [ProviderChoice, string][] = [['auto', auto], ...providers.map((p): [ProviderChoice, string] => [p, PROVIDER_LABELS[p]])];
    this.providerSelect.replaceChildren(...choices.map(([value, label]) => h('option', { value, selected: value === previous }, label)));
  }

  selectedProvider(): ProviderChoice {
    return (this.providerSelect.value || 'auto') as ProviderChoice;
  }

  /** Brings every control in line with the settings (changed by keys too) and the editor's state. */
  update(editor: { canUndo: boolean; canRedo: boolean; selection: string | null } | null): void {
    for (const [tool, el] of this.toolButtons) {
      const active = tool === this.settings.tool;
      el.classList.toggle('active', active);
      el.setAttribute('aria-pressed', String(active));
    }
    this.actionButtons.get('edit.undo')!.disabled = !editor?.canUndo;
    this.actionButtons.get('edit.redo')!.disabled = !editor?.canRedo;
    this.actionButtons.get('mask.fillHoles')!.disabled = !editor?.selection;
    for (const { key, input, output } of this.ranges) {
      if (Number(input.value) !== this.settings[key]) {
        input.value = String(this.settings[key]);
        output.textContent = input.value;
      }
    }
    for (const { key, input } of this.toggles) input.checked = this.settings[key];
  }
}
