// The `?` overlay: every shortcut, straight from the one table.
import { SHORTCUTS } from '../editor/shortcuts.js';
import { h } from './dom.js';

export function helpOverlay(onClose: () => void): HTMLElement {
  const groups = [...new Set(SHORTCUTS.map((s) => s.group))];
  const pretty = (key: string) => key.replace('Mod+', navigator.platform.startsWith('Mac') ? '⌘' : 'Ctrl+').replace('Arrow', '');
  return h('div', { class: 'overlay', 'data-testid': 'help', onclick: onClose },
    h('div', { class: 'help' },
      h('h2', {}, 'Keyboard shortcuts'),
      h('p', { class: 'hint' }, 'Pan: Space-drag or middle mouse · Zoom: wheel, to the cursor'),
      ...groups.map((group) => h('section', {},
        h('h3', {}, group),
        h('table', {}, ...SHORTCUTS.filter((s) => s.group === group).map((s) =>
          h('tr', {}, h('td', {}, ...s.keys.map((k) => h('kbd', {}, pretty(k)))), h('td', {}, s.description))))))));
}
