// The side panel: the image's instances (class, score, origin, state) and the class list with colours,
// hotkeys and counts, plus a field to add a class. Lists are re-rendered; the field is built once.
import type { Annotation, AnnotationId, Category, CategoryId } from '../../app/model/index.js';
import { clear, h } from './dom.js';

export interface SidePanelHooks {
  select(id: AnnotationId): void;
  setState(id: AnnotationId, state: 'accepted' | 'rejected'): void;
  pickClass(index: number): void;
  createClass(name: string): Promise<void>;
}

export interface PanelState {
  readonly title: string;
  readonly annotations: readonly Annotation[];
  readonly selection: AnnotationId | null;
  readonly categories: readonly Category[];
  readonly activeCategory: CategoryId | null;
  readonly isVisible: (a: Annotation) => boolean;
}

export class SidePanel {
  readonly element: HTMLElement;
  private readonly title = h('h2', {});
  private readonly instancesHeading = h('h3', {});
  private readonly instances = h('div', { class: 'instances', 'data-testid': 'instances' });
  private readonly classes = h('div', { class: 'classes', 'data-testid': 'classes' });

  constructor(private readonly hooks: SidePanelHooks) {
    const input = h('input', { placeholder: 'New class', 'data-testid': 'new-class', 'aria-label': 'New class' });
    const form = h('form', {
      class: 'new-class',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const name = input.value.trim();
        if (name) void hooks.createClass(name).then(() => (input.value = ''));
      },
    }, input);
    this.element = h('aside', { class: 'panel', 'data-testid': 'panel' },
      this.title, this.instancesHeading, this.instances, h('h3', {}, 'Classes'), this.classes, form);
  }

  private verdictButton(id: AnnotationId, state: 'accepted' | 'rejected', label: string, title: string): HTMLButtonElement {
    return h('button', {
      class: `verdict-${state}`, title, 'aria-label': title,
      onclick: (e: Event) => {
        e.stopPropagation();
        this.hooks.setState(id, state);
      },
    }, label);
  }

  update(state: PanelState): void {
    const byId = new Map(state.categories.map((c) => [c.id, c]));
    const counts = new Map<number, number>();
    for (const a of state.annotations) counts.set(a.categoryId, (counts.get(a.categoryId) ?? 0) + 1);
    this.title.textContent = state.title;
    this.instancesHeading.textContent = `Instances (${state.annotations.length})`;
    clear(this.instances);
    this.instances.append(...state.annotations.map((a) => {
      const category = byId.get(a.categoryId);
      return h('div', {
        class: `instance${a.id === state.selection ? ' selected' : ''}${state.isVisible(a) ? '' : ' hidden'}`,
        'data-annotation-id': a.id, 'data-state': a.state, 'data-origin': a.origin,
        onclick: () => this.hooks.select(a.id),
      },
      h('span', { class: 'swatch', style: `background:${category?.color ?? '#fff'}` }),
      h('span', { class: 'class' }, `${category?.name ?? '?'}${a.crowd ? ' (crowd)' : ''}`),
      h('span', { class: 'score' }, a.score === null ? '—' : a.score.toFixed(2)),
      h('span', { class: 'origin' }, a.origin),
      h('span', { class: `state state-${a.state}` }, a.state),
      a.origin === 'human' ? null : h('span', { class: 'verdict' },
        this.verdictButton(a.id, 'accepted', '✓', 'Accept (A)'),
        this.verdictButton(a.id, 'rejected', '✕', 'Reject (R)')));
    }));
    clear(this.classes);
    this.classes.append(...state.categories.map((c, i) => h('div', {
      class: `category${c.id === state.activeCategory ? ' active' : ''}`,
      'data-category-id': c.id,
      title: 'Click (or its number key): the class for new instances; also reclassifies the selection',
      onclick: () => this.hooks.pickClass(i),
    },
    h('span', { class: 'swatch', style: `background:${c.color}` }),
    h('kbd', {}, i < 9 ? String(i + 1) : ''),
    h('span', { class: 'class' }, c.name),
    h('span', { class: 'count' }, String(counts.get(c.id) ?? 0)))));
  }
}
