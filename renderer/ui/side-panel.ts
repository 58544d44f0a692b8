// The side panel: why the open image cannot be shown (when it cannot), the open image's instances (class, score,
// origin, state, accept/reject; a double-click zooms to one) of the classes shown, a bar of bulk actions when
// several are selected, and the class list with colours, hotkeys, counts, show/hide and lock, plus a field to add
// a class. Rows are kept by id and only the ones whose content changed are rebuilt; a redraw is at most one per
// frame.
import type { Disposable } from '../../app/ipc/contract.js';
import type { Annotation, AnnotationId, Category } from '../../app/model/index.js';
import { staleNote } from '../editor/labels.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { DisposableStore, everyFrame, h } from './dom.js';

/** Rows by id in a container, in a given order: a row is rebuilt only when its key (what it shows) changes. */
class KeyedRows<K> {
  private readonly rows = new Map<K, { key: string; el: HTMLElement }>();

  constructor(private readonly container: HTMLElement) {}

  update<T>(items: readonly T[], idOf: (item: T) => K, keyOf: (item: T) => string, build: (item: T) => HTMLElement): void {
    const seen = new Set<K>();
    let previous: HTMLElement | null = null;
    for (const item of items) {
      const id = idOf(item);
      seen.add(id);
      const key = keyOf(item);
      let row = this.rows.get(id);
      if (!row || row.key !== key) {
        const el = build(item);
        if (row) row.el.replaceWith(el);
        row = { key, el };
        this.rows.set(id, row);
      }
      // In order: each row right after the one before it (moves only what is out of place).
      const expected: ChildNode | null = previous ? previous.nextSibling : this.container.firstChild;
      if (expected !== row.el) this.container.insertBefore(row.el, expected);
      previous = row.el;
    }
    for (const [id, row] of this.rows) {
      if (seen.has(id)) continue;
      row.el.remove();
      this.rows.delete(id);
    }
  }

  get(id: K): HTMLElement | undefined {
    return this.rows.get(id)?.el;
  }
}

export class SidePanel implements Disposable {
  readonly element: HTMLElement;
  private readonly title = h('h2', {});
  private readonly problem = h('p', { class: 'image-problem', 'data-testid': 'image-problem-panel', role: 'alert', hidden: true });
  private readonly instancesHeading = h('h3', {});
  private readonly autoAdvance = h('input', { type: 'checkbox', 'data-testid': 'auto-advance' });
  private readonly bulk = h('div', { class: 'bulk', 'data-testid': 'bulk', hidden: true });
  private readonly bulkCount = h('span', { class: 'bulk-count' });
  private readonly bulkClass = h('select', { 'data-testid': 'bulk-class', 'aria-label': 'Reclassify the selection' });
  private readonly instances = h('div', { class: 'instances', 'data-testid': 'instances' });
  private readonly classes = h('div', { class: 'classes', 'data-testid': 'classes' });
  private readonly instanceRows = new KeyedRows<AnnotationId>(this.instances);
  private readonly classRows = new KeyedRows<number>(this.classes);
  private readonly disposables = new DisposableStore();
  private readonly redraw = everyFrame(() => this.draw());
  private revealed: AnnotationId | null = null;

  constructor(private readonly session: ReviewSession<unknown>) {
    const input = h('input', { placeholder: 'New class', 'data-testid': 'new-class', 'aria-label': 'New class' });
    const form = h('form', {
      class: 'new-class',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const name = input.value.trim();
        if (name) void session.createClass(name).then((created) => created && (input.value = ''));
      },
    }, input);
    this.autoAdvance.addEventListener('change', () => session.updateSettings({ autoAdvance: this.autoAdvance.checked }));
    this.bulkClass.addEventListener('change', () => {
      const id = Number(this.bulkClass.value);
      if (id > 0) session.reclassify(session.selection, id as Category['id']);
      this.bulkClass.value = '';
    });
    const bulkButton = (label: string, testid: string, act: () => void) => h('button', { 'data-testid': testid, onclick: act }, label);
    this.bulk.append(
      this.bulkCount,
      bulkButton('Accept', 'bulk-accept', () => session.decide(session.selection, 'accepted')),
      bulkButton('Reject', 'bulk-reject', () => session.decide(session.selection, 'rejected')),
      bulkButton('Delete', 'bulk-delete', () => void session.perform('instance.delete')),
      this.bulkClass,
    );
    this.element = h('aside', { class: 'panel', 'data-testid': 'panel' },
      this.title, this.problem,
      h('div', { class: 'instances-head' }, this.instancesHeading,
        h('label', { class: 'toggle', title: 'After accepting or rejecting an instance, select the next pending one' }, this.autoAdvance, 'Next pending')),
      this.bulk, this.instances, h('h3', {}, 'Classes'), this.classes, form);
    this.disposables.add(this.redraw);
    this.disposables.add(session.subscribe((topics: ReadonlySet<Topic>) => {
      if (topics.has('image') || topics.has('annotations') || topics.has('selection') || topics.has('settings') || topics.has('project')) this.redraw.request();
    }));
    this.draw();
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private draw(): void {
    const session = this.session;
    const annotations = session.annotations;
    const byId = new Map<number, Category>(session.categories.map((c) => [c.id, c]));
    const selected = new Set(session.selection);
    this.title.textContent = session.image?.path ?? 'No image';
    const problem = session.imageProblem;
    this.problem.hidden = problem === null;
    this.problem.textContent = problem ?? '';
    // The class filter and hidden classes filter the list as they filter the canvas.
    const listed = annotations.filter((a) => session.isClassShown(a.categoryId));
    this.instancesHeading.textContent = listed.length === annotations.length ? `Instances (${annotations.length})` : `Instances (${listed.length} of ${annotations.length})`;
    this.autoAdvance.checked = session.settings.autoAdvance;
    this.drawBulk(byId);
    this.instanceRows.update(
      listed,
      (a) => a.id,
      (a) => {
        const category = byId.get(a.categoryId);
        const model = session.modelName(a);
        const choices = selected.has(a.id) ? session.prompts.classChoices(a.id).length : 0;
        return `${category?.name}|${category?.color}|${a.crowd}|${a.score}|${a.origin}|${a.state}|${selected.has(a.id)}|${session.isVisible(a)}|${model?.short}|${model?.full}|${staleNote(a, session.image)}|${choices}`;
      },
      (a) => this.instanceRow(a, byId.get(a.categoryId), selected.has(a.id), session.isVisible(a)),
    );
    // The primary selection's row scrolls into view when it changes (a canvas click, Tab).
    const primary = session.primary;
    if (primary !== this.revealed) {
      this.revealed = primary;
      if (primary) this.instanceRows.get(primary)?.scrollIntoView({ block: 'nearest' });
    }
    const counts = new Map<number, number>();
    for (const a of annotations) counts.set(a.categoryId, (counts.get(a.categoryId) ?? 0) + 1);
    const active = session.settings.activeCategory;
    this.classRows.update(
      session.categories.map((c, i) => ({ c, i })),
      ({ c }) => c.id,
      ({ c, i }) => `${c.name}|${c.color}|${i}|${counts.get(c.id) ?? 0}|${c.id === active}|${session.settings.hiddenCategories.includes(c.id)}|${session.isClassLocked(c.id)}`,
      ({ c, i }) => {
        const hidden = session.settings.hiddenCategories.includes(c.id);
        const locked = session.isClassLocked(c.id);
        const toggle = (label: string, title: string, on: boolean, act: () => void, testid: string) => h('button', {
          class: `class-toggle${on ? ' on' : ''}`, title, 'aria-label': title, 'aria-pressed': String(on), 'data-testid': testid,
          onclick: (e: Event) => {
            e.stopPropagation();
            act();
          },
        }, label);
        return h('div', {
          class: `category${c.id === active ? ' active' : ''}${hidden ? ' hidden' : ''}`,
          'data-category-id': c.id,
          title: 'Click (or its number key): the class for new instances; also reclassifies the selection',
          onclick: () => session.pickClass(i),
        },
        h('span', { class: 'swatch', style: `background:${c.color}` }),
        h('kbd', {}, i < 9 ? String(i + 1) : ''),
        h('span', { class: 'class' }, c.name),
        h('span', { class: 'count' }, String(counts.get(c.id) ?? 0)),
        toggle(hidden ? 'show' : 'hide', hidden ? `Show ${c.name}` : `Hide ${c.name}`, hidden, () => session.toggleClassHidden(c.id), 'class-hide'),
        toggle(locked ? 'locked' : 'lock', locked ? `Unlock ${c.name}` : `Lock ${c.name} (shown, not selectable)`, locked, () => session.toggleClassLocked(c.id), 'class-lock'));
      },
    );
  }

  /** The bulk bar: shown with several instances selected. */
  private drawBulk(byId: ReadonlyMap<number, Category>): void {
    const count = this.session.selection.length;
    this.bulk.hidden = count < 2;
    if (count < 2) return;
    this.bulkCount.textContent = `${count} selected`;
    const key = [...byId.values()].map((c) => `${c.id}:${c.name}`).join();
    if (this.bulkClass.dataset.key !== key) {
      this.bulkClass.dataset.key = key;
      this.bulkClass.replaceChildren(h('option', { value: '' }, 'Class…'), ...[...byId.values()].map((c) => h('option', { value: c.id }, c.name)));
    }
  }

  private instanceRow(a: Annotation, category: Category | undefined, selected: boolean, visible: boolean): HTMLElement {
    const session = this.session;
    const verdict = (state: 'accepted' | 'rejected', label: string, title: string) => h('button', {
      class: `verdict-${state}`, title, 'aria-label': title,
      onclick: (e: Event) => {
        e.stopPropagation();
        session.decide([a.id], state);
      },
    }, label);
    const model = session.modelName(a);
    const stale = staleNote(a, session.image);
    return h('div', {
      class: `instance${selected ? ' selected' : ''}${visible ? '' : ' hidden'}${stale ? ' stale' : ''}`,
      'data-annotation-id': a.id, 'data-state': a.state, 'data-origin': a.origin,
      onclick: (e: Event) => {
        const { shiftKey, ctrlKey, metaKey } = e as MouseEvent;
        if (shiftKey || ctrlKey || metaKey) {
          const current = session.selection;
          session.select(current.includes(a.id) ? current.filter((id) => id !== a.id) : [...current, a.id]);
        } else {
          session.selectAndReveal(a.id);
        }
      },
      ondblclick: () => session.zoomTo(a.id),
      title: 'Click: select (Shift/Ctrl: add) · Double-click: zoom to it',
    },
    h('span', { class: 'swatch', style: `background:${category?.color ?? '#fff'}` }),
    h('span', { class: 'class' }, `${category?.name ?? '?'}${a.crowd ? ' (crowd)' : ''}`),
    h('span', { class: 'score' }, a.score === null ? '—' : a.score.toFixed(2)),
    // A prediction is named by its model (short; in full in the tooltip), a person's own by its origin.
    model && a.origin !== 'human'
      ? h('span', { class: 'origin model', 'data-testid': 'model-name', title: `Predicted by ${model.full}${a.origin === 'model-edited' ? ', edited by a person' : ''}` },
        a.origin === 'model-edited' ? `${model.short}*` : model.short)
      : h('span', { class: 'origin' }, a.origin),
    stale ? h('span', { class: 'badge-stale', 'data-testid': 'stale', title: stale }, `stale ${a.stale!.width}×${a.stale!.height}`) : null,
    h('span', { class: `state state-${a.state}` }, a.state),
    a.origin === 'human' ? null : h('span', { class: 'verdict' }, verdict('accepted', '✓', 'Accept (A)'), verdict('rejected', '✕', 'Reject (R)')),
    selected ? this.classChoices(a) : null);
  }

  /** For an instance from a box prompt: the other classes the model gave the box, most probable first, to pick from. */
  private classChoices(a: Annotation): HTMLElement | null {
    const choices = this.session.prompts.classChoices(a.id);
    if (choices.length === 0) return null;
    return h('div', { class: 'class-choices', 'data-testid': 'class-choices' }, ...choices.map((c) => h('button', {
      class: c.categoryId === a.categoryId ? 'active' : '',
      'data-category-id': c.categoryId,
      title: `Make it a ${c.label} (the model's probability ${c.score.toFixed(2)})`,
      onclick: (e: Event) => {
        e.stopPropagation();
        this.session.document?.setCategory([a.id], c.categoryId);
      },
    }, `${c.label} ${c.score.toFixed(2)}`)));
  }
}
