// Turns the menu data into Electron's menu item options; type-only use of electron, so it runs under Node.
import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand, MenuSpec } from './menu-template.js';

export function toElectronMenu(specs: readonly MenuSpec[], onCommand: (command: MenuCommand) => void): MenuItemConstructorOptions[] {
  return specs.map((spec): MenuItemConstructorOptions => {
    switch (spec.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'role':
        return { role: spec.role };
      case 'submenu':
        return {
          label: spec.label,
          ...(spec.role !== undefined && { role: spec.role }),
          submenu: toElectronMenu(spec.items, onCommand),
        };
      case 'command':
        return {
          label: spec.label,
          ...(spec.accelerator !== undefined && { accelerator: spec.accelerator }),
          ...(spec.keyGoesToPage && { registerAccelerator: false }),
          enabled: spec.enabled ?? true,
          click: () => onCommand(spec.command),
        };
    }
  });
}
