// The native menus as plain data: what each item says, its shortcut, and the command it sends.
// menu.ts turns this into Electron's MenuItemConstructorOptions.

export type MenuCommand =
  | { readonly type: 'open-folder' }
  | { readonly type: 'open-recent'; readonly folder: string }
  | { readonly type: 'clear-recent' }
  | { readonly type: 'import-model' }
  | { readonly type: 'export-coco' }
  | { readonly type: 'import-annotations' }
  | { readonly type: 'undo' }
  | { readonly type: 'redo' }
  | { readonly type: 'show-model-folder' }
  | { readonly type: 'open-docs' }
  | { readonly type: 'check-updates' };

/** Electron's built-in roles this app uses (a subset of MenuItemConstructorOptions['role']). */
export type MenuRole =
  | 'about' | 'services' | 'hide' | 'hideOthers' | 'unhide' | 'quit' | 'close'
  | 'cut' | 'copy' | 'paste' | 'selectAll'
  | 'reload' | 'forceReload' | 'toggleDevTools' | 'resetZoom' | 'zoomIn' | 'zoomOut' | 'togglefullscreen'
  | 'minimize' | 'zoom' | 'front' | 'window' | 'help' | 'appMenu' | 'fileMenu' | 'editMenu' | 'viewMenu' | 'windowMenu';

export type MenuSpec =
  | {
      readonly kind: 'command';
      readonly label: string;
      readonly accelerator?: string;
      /**
       * Shows the shortcut in the menu but lets the key reach the page, whose own handler knows the
       * context (undo in a text field is the field's, on the canvas the editor's).
       */
      readonly keyGoesToPage?: boolean;
      readonly enabled?: boolean;
      readonly command: MenuCommand;
    }
  | { readonly kind: 'role'; readonly role: MenuRole }
  | { readonly kind: 'separator' }
  | { readonly kind: 'submenu'; readonly label: string; readonly role?: MenuRole; readonly items: readonly MenuSpec[] };

export interface MenuContext {
  readonly platform: NodeJS.Platform;
  readonly appName: string;
  /** Recent project folders, most recent first. */
  readonly recent: readonly string[];
  /** Whether a project is open (Export needs one). */
  readonly projectOpen: boolean;
  /** Developer tools only in development builds. */
  readonly isPackaged: boolean;
}

const separator: MenuSpec = { kind: 'separator' };
const role = (r: MenuRole): MenuSpec => ({ kind: 'role', role: r });

export function menuTemplate(context: MenuContext): MenuSpec[] {
  const mac = context.platform === 'darwin';
  const recentItems: MenuSpec[] =
    context.recent.length === 0
      ? [{ kind: 'command', label: 'No Recent Projects', enabled: false, command: { type: 'clear-recent' } }]
      : [
          ...context.recent.map((folder): MenuSpec => ({ kind: 'command', label: folder, command: { type: 'open-recent', folder } })),
          separator,
          { kind: 'command', label: 'Clear Recent Projects', command: { type: 'clear-recent' } },
        ];

  const file: MenuSpec = {
    kind: 'submenu',
    label: '&File',
    items: [
      { kind: 'command', label: 'Open Folder…', accelerator: 'CmdOrCtrl+O', command: { type: 'open-folder' } },
      { kind: 'submenu', label: 'Open Recent', items: recentItems },
      separator,
      { kind: 'command', label: 'Import Annotations…', enabled: context.projectOpen, command: { type: 'import-annotations' } },
      { kind: 'command', label: 'Import Model…', command: { type: 'import-model' } },
      // The Export dialog: COCO, YOLO, Pascal VOC or LabelMe (the command keeps its first name).
      { kind: 'command', label: 'Export…', accelerator: 'CmdOrCtrl+E', enabled: context.projectOpen, command: { type: 'export-coco' } },
      separator,
      role(mac ? 'close' : 'quit'),
    ],
  };

  const edit: MenuSpec = {
    kind: 'submenu',
    label: '&Edit',
    items: [
      { kind: 'command', label: 'Undo', accelerator: 'CmdOrCtrl+Z', keyGoesToPage: true, command: { type: 'undo' } },
      { kind: 'command', label: 'Redo', accelerator: mac ? 'Shift+Cmd+Z' : 'Ctrl+Y', keyGoesToPage: true, command: { type: 'redo' } },
      separator,
      role('cut'),
      role('copy'),
      role('paste'),
      role('selectAll'),
    ],
  };

  const view: MenuSpec = {
    kind: 'submenu',
    label: '&View',
    items: [
      ...(context.isPackaged ? [] : [role('reload'), role('forceReload'), role('toggleDevTools'), separator]),
      role('resetZoom'),
      role('zoomIn'),
      role('zoomOut'),
      separator,
      role('togglefullscreen'),
    ],
  };

  const help: MenuSpec = {
    kind: 'submenu',
    label: '&Help',
    role: 'help',
    items: [
      { kind: 'command', label: `${context.appName} Documentation`, command: { type: 'open-docs' } },
      { kind: 'command', label: 'Show Model Folder', command: { type: 'show-model-folder' } },
      separator,
      { kind: 'command', label: 'Check for Updates…', command: { type: 'check-updates' } },
      ...(mac ? [] : [role('about')]),
    ],
  };

  const appMenu: MenuSpec = {
    kind: 'submenu',
    label: context.appName,
    role: 'appMenu',
    items: [role('about'), separator, role('services'), separator, role('hide'), role('hideOthers'), role('unhide'), separator, role('quit')],
  };
  const windowMenu: MenuSpec = { kind: 'submenu', label: '&Window', role: 'windowMenu', items: [role('minimize'), role('zoom'), separator, role('front')] };

  return mac ? [appMenu, file, edit, view, windowMenu, help] : [file, edit, view, help];
}
