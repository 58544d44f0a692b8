// A modal dialog over the review screen and the form fields the Export, Import and Import Model dialogs are made of.
// The dialog is built once per opening and updated in place from the session's state, so a field being used is never
// replaced.
import type { Disposable } from '../../app/ipc/contract.js';
import type { ReviewSession } from '../editor/session.js';
import { h, listen } from './dom.js';

export class Modal<S = unknown> implements Disposable {
  readonly element: HTMLElement;
  readonly body = h('div', { class: 'dialog-body' });
  readonly buttons = h('div', { class: 'dialog-buttons' });
  private readonly updaters: ((state: S) => void)[] = [];
  private readonly backdrop: Disposable;

  constructor(host: HTMLElement, testid: string, title: string, close: () => void) {
    const dialog = h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title }, h('h2', {}, title), this.body, this.buttons);
    this.element = h('div', { class: 'overlay', 'data-testid': testid }, dialog);
    // A click beside the dialog closes it, as Escape does (the session handles that key).
    this.backdrop = listen(this.element, 'click', (e) => e.target === this.element && close());
    host.append(this.element);
  }

  onUpdate(update: (state: S) => void): void {
    this.updaters.push(update);
  }

  update(state: S): void {
    for (const update of this.updaters) update(state);
  }

  dispose(): void {
    this.backdrop.dispose();
    this.element.remove();
  }
}

/**
 * A dialog the review session opens and closes: built when its state appears, updated in place while it lasts, gone
 * when the state is null again. Subclasses say where the state is and how the dialog is built.
 */
export abstract class SessionDialog<S> implements Disposable {
  private modal: Modal<S> | null = null;
  private readonly subscription: Disposable;

  constructor(protected readonly session: ReviewSession<unknown>, protected readonly host: HTMLElement) {
    this.subscription = session.subscribe((topics) => topics.has('dialogs') && this.draw());
  }

  /** The dialog's state in the session; null while it is closed. */
  protected abstract state(): S | null;

  protected abstract build(): Modal<S>;

  dispose(): void {
    this.subscription.dispose();
    this.modal?.dispose();
  }

  private draw(): void {
    const state = this.state();
    if (!state) {
      this.modal?.dispose();
      this.modal = null;
      return;
    }
    this.modal ??= this.build();
    this.modal.update(state);
  }
}

export interface Field<T, E extends HTMLElement> {
  readonly label: HTMLLabelElement;
  readonly input: E;
  set(value: T): void;
}

export function select(text: string, testid: string, options: readonly (readonly [string, string])[], change: (value: string) => void): Field<string, HTMLSelectElement> {
  const input = h('select', { 'data-testid': testid }, ...options.map(([value, label]) => h('option', { value }, label)));
  input.addEventListener('change', () => change(input.value));
  return {
    label: h('label', { class: 'field' }, h('span', {}, text), input),
    input,
    set: (value) => {
      if (input.value !== value) input.value = value;
    },
  };
}

export function checkbox(text: string, testid: string, change: (on: boolean) => void): Field<boolean, HTMLInputElement> {
  const input = h('input', { type: 'checkbox', 'data-testid': testid });
  input.addEventListener('change', () => change(input.checked));
  return { label: h('label', { class: 'field check' }, input, h('span', {}, text)), input, set: (on) => void (input.checked = on) };
}

export function numberField(text: string, testid: string, limits: { min?: number; max?: number; step: number }, change: (value: number) => void): Field<number, HTMLInputElement> {
  const input = h('input', { type: 'number', 'data-testid': testid, step: limits.step, min: limits.min, max: limits.max });
  input.addEventListener('change', () => {
    const value = Number(input.value);
    const fits = input.value.trim() !== '' && Number.isFinite(value) && (limits.min === undefined || value >= limits.min) && (limits.max === undefined || value <= limits.max);
    input.setCustomValidity(fits ? '' : `from ${limits.min ?? '…'} to ${limits.max ?? '…'}`);
    if (fits) change(value);
  });
  return {
    label: h('label', { class: 'field' }, h('span', {}, text), input),
    input,
    set: (value) => {
      // A number being typed is left alone until it is complete (the change event).
      if (document.activeElement !== input && Number(input.value) !== value) input.value = String(value);
      if (input.value === '') input.value = String(value);
    },
  };
}

export function textField(text: string, testid: string, options: { multiline?: boolean; placeholder?: string }, change: (value: string) => void): Field<string, HTMLInputElement | HTMLTextAreaElement> {
  const input = options.multiline
    ? h('textarea', { 'data-testid': testid, rows: 3, placeholder: options.placeholder })
    : h('input', { type: 'text', 'data-testid': testid, placeholder: options.placeholder });
  input.addEventListener('input', () => change(input.value));
  return {
    label: h('label', { class: 'field' }, h('span', {}, text), input),
    input,
    set: (value) => {
      // What is being typed stays as typed.
      if (document.activeElement !== input && input.value !== value) input.value = value;
    },
  };
}
