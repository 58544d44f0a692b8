// The model table: every model version of the project with its held-out figures (mask and box AP, precision and
// recall at its threshold, the suggested threshold), and what to do with them: set one active, apply its suggested
// threshold, evaluate, compare with what was reviewed, train a new version. Shown while the session says so; every
// button dispatches to the session's learning part.
import type { Disposable, ModelVersionRow } from '../../app/ipc/contract.js';
import type { ReviewSession, Topic } from '../editor/session.js';
import { DisposableStore, everyFrame, h, listen } from './dom.js';

const figure = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toFixed(3));

export class ModelsPanel implements Disposable {
  private element: HTMLElement | null = null;
  private readonly disposables = new DisposableStore();
  private readonly redraw = everyFrame(() => this.draw());
  private readonly iterations = h('input', { type: 'number', min: 1, step: 1, placeholder: 'auto', 'data-testid': 'train-iterations', 'aria-label': 'Iterations' });
  private readonly minutes = h('input', { type: 'number', min: 1, step: 1, placeholder: 'auto', 'data-testid': 'train-minutes', 'aria-label': 'Minutes' });
  private readonly device = h('select', { 'data-testid': 'train-device', 'aria-label': 'Device' }, h('option', { value: 'cpu' }, 'CPU'), h('option', { value: 'cuda' }, 'CUDA GPU'));
  private readonly activate = h('input', { type: 'checkbox', 'data-testid': 'train-activate' });
  private readonly body = h('tbody');
  private readonly jobLine = h('p', { class: 'hint', 'data-testid': 'models-job' });
  private readonly buttons: HTMLButtonElement[] = [];

  constructor(private readonly session: ReviewSession<unknown>, private readonly host: HTMLElement) {
    this.disposables.add(this.redraw);
    this.disposables.add(session.subscribe((topics: ReadonlySet<Topic>) => {
      if (topics.has('learning') || topics.has('project') || topics.has('settings')) this.redraw.request();
    }));
  }

  dispose(): void {
    this.disposables.dispose();
    this.element?.remove();
  }

  private build(): HTMLElement {
    const learning = this.session.learning;
    const button = (label: string, testid: string, action: () => void, title = '') => {
      const el = h('button', { 'data-testid': testid, title, onclick: action }, label);
      this.buttons.push(el);
      return el;
    };
    const train = () => {
      const iterations = Number(this.iterations.value);
      const minutes = Number(this.minutes.value);
      void learning.train({
        ...(iterations > 0 ? { iterations: Math.round(iterations) } : {}),
        ...(minutes > 0 ? { minutes } : {}),
        device: this.device.value as 'cpu' | 'cuda',
        ...(this.activate.checked ? { activate: true } : {}),
      });
    };
    const panel = h('div', { class: 'models-panel', 'data-testid': 'models-panel' },
      h('header', {}, h('h2', {}, 'Model versions'), h('button', { 'data-testid': 'models-close', title: 'Close (Esc)', onclick: () => learning.setTableOpen(false) }, '✕')),
      h('p', { class: 'hint' }, 'Figures on the held-out reviewed images (about 1 in 5, never trained on). P, R, F1 at the model\'s threshold; "suggested" is the threshold with the best F1.'),
      h('table', {},
        h('thead', {}, h('tr', {}, ...['Model', 'v', 'Mask AP', 'Box AP', 'P', 'R', 'F1', 'Threshold', 'Suggested', 'Images', ''].map((t) => h('th', {}, t)))),
        this.body),
      h('div', { class: 'train-form' },
        h('label', {}, 'Iterations ', this.iterations),
        h('label', {}, 'Minutes ', this.minutes),
        h('label', {}, 'Device ', this.device),
        h('label', {}, this.activate, ' Activate whatever its score'),
        button('Train new version', 'train', train, 'Fine-tune the active model on the reviewed images'),
        button('Evaluate all', 'evaluate', () => void learning.evaluate(learning.models.map((m) => m.modelId)), 'Score every model on the held-out images'),
        button('Compare with reviewed', 'compare', () => void learning.compare(), 'Run the active model on the reviewed images and show where it disagrees')),
      this.jobLine);
    const overlay = h('div', { class: 'overlay', 'data-testid': 'models-overlay' }, panel);
    this.disposables.add(listen(overlay, 'click', (e) => e.target === overlay && learning.setTableOpen(false)));
    this.disposables.add(listen(overlay, 'keydown', (e) => {
      if (e.key === 'Escape') learning.setTableOpen(false);
      e.stopPropagation();
    }));
    return overlay;
  }

  private draw(): void {
    const learning = this.session.learning;
    if (!learning.tableOpen) {
      this.element?.remove();
      this.element = null;
      return;
    }
    if (!this.element) {
      this.element = this.build();
      this.host.append(this.element);
    }
    this.body.replaceChildren(...learning.models.map((row) => this.row(row)));
    const job = learning.job;
    this.jobLine.textContent = job ? `${job.kind} ${job.name}: ${job.state}${job.message ? ` · ${job.message}` : ''}` : '';
    for (const el of this.buttons) el.disabled = learning.running;
  }

  private row(row: ModelVersionRow): HTMLElement {
    const learning = this.session.learning;
    const e = row.evaluation;
    const main = e?.mask ?? e?.box;
    return h('tr', { 'data-model-id': row.modelId, class: row.active ? 'active' : '' },
      h('td', { title: row.parent ? `trained from ${row.parent}` : row.format }, row.name, row.active ? h('span', { class: 'badge', 'data-testid': 'active-badge' }, 'active') : null),
      h('td', {}, String(row.version)),
      h('td', { 'data-field': 'maskAP' }, figure(e?.mask?.AP)),
      h('td', { 'data-field': 'boxAP' }, figure(e?.box.AP)),
      h('td', { 'data-field': 'precision' }, figure(e?.atThreshold.precision)),
      h('td', { 'data-field': 'recall' }, figure(e?.atThreshold.recall)),
      h('td', {}, figure(e?.atThreshold.f1)),
      h('td', { 'data-field': 'threshold' }, figure(row.threshold)),
      h('td', { 'data-field': 'suggested' }, figure(e?.suggested.score)),
      h('td', { title: e ? `scored ${e.createdAt}` : 'not scored yet' }, e ? `${e.images}` : '–'),
      h('td', { class: 'actions' },
        h('button', { 'data-testid': 'activate', disabled: row.active, onclick: () => void learning.activate(row.modelId) }, 'Set active'),
        h('button', { 'data-testid': 'apply-threshold', disabled: !main || e?.suggested.score === null, onclick: () => learning.applySuggested(row.modelId) }, 'Apply suggested'),
        h('button', { 'data-testid': 'evaluate-one', disabled: learning.running, onclick: () => void learning.evaluate([row.modelId]) }, 'Evaluate'),
        h('button', { 'data-testid': 'compare-one', disabled: learning.running, onclick: () => void learning.compare(row.modelId) }, 'Compare')));
  }
}
