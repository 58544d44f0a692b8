// The `?` overlay: every shortcut, straight from the one table; shown while the session says so (Escape, a click or
// `?` again closes it).
import type { Disposable } from '../../app/ipc/contract.js';
import type { ReviewSession } from '../editor/session.js';
import { SHORTCUTS } from '../editor/shortcuts.js';
import { h } from './dom.js';

export class HelpOverlay implements Disposable {
  private element: HTMLElement | null = null;
  private readonly subscription: Disposable;

  constructor(private readonly session: ReviewSession<unknown>, private readonly host: HTMLElement) {
    this.subscription = session.subscribe((topics) => topics.has('help') && this.draw());
  }

  dispose(): void {
    this.subscription.dispose();
    this.element?.remove();
  }

  private draw(): void {
    if (!this.session.helpOpen) {
      this.element?.remove();
      this.element = null;
      return;
    }
    if (this.element) return;
    const groups = [...new Set(SHORTCUTS.map((s) => s.group))];
    const pretty = (key: string) => key.replace('Mod+', navigator.platform.startsWith('Mac') ? '⌘' : 'Ctrl+').replace('Arrow', '');
    this.element = h('div', { class: 'overlay', 'data-testid': 'help', onclick: () => this.session.setHelp(false) },
      h('div', { class: 'help' },
        h('h2', {}, 'Keyboard shortcuts'),
        h('p', { class: 'hint' }, 'Pan: Space-drag or middle mouse · Zoom: wheel, to the cursor; double-click a row in the panel to zoom to it · Select several: Shift/Ctrl-click, drag a rectangle, or Ctrl+A then Shift-click to leave some out · Resize: drag a handle (Shift scales the mask too) · Escape closes this list'),
        ...groups.map((group) => h('section', {},
          h('h3', {}, group),
          h('table', {}, ...SHORTCUTS.filter((s) => s.group === group).map((s) =>
            h('tr', {}, h('td', {}, ...s.keys.map((k) => h('kbd', {}, pretty(k)))), h('td', {}, s.description))))))));
    this.host.append(this.element);
  }
}
