// The question a project without classes asks when something is drawn: the class's name. Shown while the session
// waits for it; Enter creates the class and the instance with it, Escape or Cancel draws nothing.
import type { Disposable } from '../../app/ipc/contract.js';
import type { ReviewSession } from '../editor/session.js';
import { h } from './dom.js';

export class ClassPrompt implements Disposable {
  private element: HTMLElement | null = null;
  private readonly subscription: Disposable;

  constructor(private readonly session: ReviewSession<unknown>, private readonly host: HTMLElement) {
    this.subscription = session.subscribe((topics) => topics.has('prompt') && this.draw());
  }

  dispose(): void {
    this.subscription.dispose();
    this.element?.remove();
  }

  private draw(): void {
    if (!this.session.askingForClass) {
      this.element?.remove();
      this.element = null;
      return;
    }
    if (this.element) return;
    const input = h('input', { 'data-testid': 'class-prompt-name', 'aria-label': 'Class name', placeholder: 'e.g. car', autocomplete: 'off' });
    const cancel = () => this.session.cancelClassRequest();
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      cancel();
    });
    const form = h('form', {
      class: 'prompt', 'data-testid': 'class-prompt',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const name = input.value.trim();
        if (name) void this.session.answerClass(name);
      },
    },
    h('h2', {}, 'Name the class of this instance'),
    h('p', {}, 'The project has no classes yet. The new instance gets this one, and it becomes the class for the next.'),
    input,
    h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: cancel }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Create')));
    this.element = h('div', { class: 'overlay' }, form);
    this.host.append(this.element);
    input.focus();
  }
}
