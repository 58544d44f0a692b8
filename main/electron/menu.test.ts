import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';
import { toElectronMenu } from './menu.js';
import { menuTemplate, type MenuCommand, type MenuSpec } from './menu-template.js';

const base = { appName: 'Loupe', recent: ['/data/a', '/data/b'], projectOpen: true, isPackaged: true };

function find(specs: readonly MenuSpec[], label: string): MenuSpec | undefined {
  for (const spec of specs) {
    if ((spec.kind === 'command' || spec.kind === 'submenu') && spec.label.replace('&', '') === label) return spec;
    if (spec.kind === 'submenu') {
      const inner = find(spec.items, label);
      if (inner) return inner;
    }
  }
  return undefined;
}

describe('menuTemplate', () => {
  it('has File, Edit, View and Help on Windows and Linux, with the app and Window menus added on macOS', () => {
    const labels = (platform: NodeJS.Platform) =>
      menuTemplate({ ...base, platform }).map((m) => (m.kind === 'submenu' ? m.label.replace('&', '') : m.kind));
    expect(labels('linux')).toEqual(['File', 'Edit', 'View', 'Help']);
    expect(labels('win32')).toEqual(['File', 'Edit', 'View', 'Help']);
    expect(labels('darwin')).toEqual(['Loupe', 'File', 'Edit', 'View', 'Window', 'Help']);
  });

  it('offers Check for Updates in Help on every platform', () => {
    for (const platform of ['linux', 'win32', 'darwin'] as const) {
      expect(find(menuTemplate({ ...base, platform }), 'Check for Updates…'), platform).toMatchObject({ kind: 'command', command: { type: 'check-updates' } });
    }
  });

  it('lists recent projects as commands, or a disabled placeholder', () => {
    const menu = menuTemplate({ ...base, platform: 'linux' });
    const recent = find(menu, 'Open Recent');
    expect(recent?.kind === 'submenu' && recent.items.filter((i) => i.kind === 'command').map((i) => i.kind === 'command' && i.command)).toEqual([
      { type: 'open-recent', folder: '/data/a' },
      { type: 'open-recent', folder: '/data/b' },
      { type: 'clear-recent' },
    ]);
    const none = find(menuTemplate({ ...base, recent: [], platform: 'linux' }), 'No Recent Projects');
    expect(none).toMatchObject({ kind: 'command', enabled: false });
  });

  it('sends undo and redo to the editor with platform shortcuts, and disables export without a project', () => {
    expect(find(menuTemplate({ ...base, platform: 'linux' }), 'Undo')).toMatchObject({ accelerator: 'CmdOrCtrl+Z', command: { type: 'undo' } });
    expect(find(menuTemplate({ ...base, platform: 'linux' }), 'Redo')).toMatchObject({ accelerator: 'Ctrl+Y' });
    expect(find(menuTemplate({ ...base, platform: 'darwin' }), 'Redo')).toMatchObject({ accelerator: 'Shift+Cmd+Z' });
    expect(find(menuTemplate({ ...base, projectOpen: false, platform: 'linux' }), 'Export…')).toMatchObject({ enabled: false });
    expect(find(menuTemplate({ ...base, projectOpen: false, platform: 'linux' }), 'Import Annotations…')).toMatchObject({ enabled: false });
    expect(find(menuTemplate({ ...base, projectOpen: true, platform: 'linux' }), 'Import Annotations…')).toMatchObject({ enabled: true, command: { type: 'import-annotations' } });
  });

  it('registers no shortcut twice, nor one the editor uses without the menu', () => {
    for (const isPackaged of [true, false]) {
      const accelerators: string[] = [];
      const walk = (specs: readonly MenuSpec[]) => {
        for (const spec of specs) {
          if (spec.kind === 'submenu') walk(spec.items);
          if (spec.kind === 'command' && spec.accelerator && !spec.keyGoesToPage) accelerators.push(spec.accelerator);
        }
      };
      walk(menuTemplate({ ...base, isPackaged, platform: 'linux' }));
      expect(new Set(accelerators).size).toBe(accelerators.length);
      // Chromium's devtools shortcut, used by the toggleDevTools role in development builds.
      expect(accelerators).not.toContain('CmdOrCtrl+Shift+I');
    }
  });

  it('offers developer tools only in unpackaged builds', () => {
    const roles = (isPackaged: boolean) => JSON.stringify(menuTemplate({ ...base, isPackaged, platform: 'linux' }));
    expect(roles(true)).not.toContain('toggleDevTools');
    expect(roles(false)).toContain('toggleDevTools');
  });
});

describe('toElectronMenu', () => {
  it('maps roles, separators and submenus, and clicking a command sends it', () => {
    const sent: MenuCommand[] = [];
    const items = toElectronMenu(menuTemplate({ ...base, platform: 'linux' }), (c) => sent.push(c));
    const file = items[0]!;
    expect(file.label).toBe('&File');
    const fileItems = file.submenu as MenuItemConstructorOptions[];
    expect(fileItems[0]).toMatchObject({ label: 'Open Folder…', accelerator: 'CmdOrCtrl+O', enabled: true });
    expect(fileItems.at(-1)).toEqual({ role: 'quit' });
    expect(fileItems.some((i) => i.type === 'separator')).toBe(true);
    (fileItems[0]!.click as () => void)();
    const recent = (fileItems[1]!.submenu as MenuItemConstructorOptions[])[1]!;
    (recent.click as () => void)();
    expect(sent).toEqual([{ type: 'open-folder' }, { type: 'open-recent', folder: '/data/b' }]);
    // Undo and redo keys stay with the page (text fields, the editor); the menu only shows them.
    const editItems = items[1]!.submenu as MenuItemConstructorOptions[];
    expect(editItems.slice(0, 2)).toMatchObject([
      { label: 'Undo', accelerator: 'CmdOrCtrl+Z', registerAccelerator: false },
      { label: 'Redo', accelerator: 'Ctrl+Y', registerAccelerator: false },
    ]);
    expect(fileItems[0]).not.toHaveProperty('registerAccelerator');
  });
});
