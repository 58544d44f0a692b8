// Every keyboard shortcut, in one table: the key handler and the `?` overlay both read it.

export type Action =
  | 'tool.select' | 'tool.box' | 'tool.prompt' | 'tool.polygon' | 'tool.vertices' | 'tool.brush' | 'tool.eraser'
  | 'brush.smaller' | 'brush.larger' | 'mask.fillHoles'
  | 'instance.delete' | 'instance.accept' | 'instance.reject' | 'instance.acceptAbove' | 'instance.rejectBelow' | 'instance.next' | 'instance.deselect'
  | 'instance.selectAll'
  | 'instance.crowd'
  | 'class.1' | 'class.2' | 'class.3' | 'class.4' | 'class.5' | 'class.6' | 'class.7' | 'class.8' | 'class.9'
  | 'edit.undo' | 'edit.redo'
  | 'view.fit' | 'view.zoomSelection' | 'view.zoomIn' | 'view.zoomOut' | 'view.masks' | 'view.outlines' | 'view.boxes' | 'view.labels'
  | 'review.done' | 'image.next' | 'image.previous' | 'help.toggle'
  | 'compare.takeExtra';

export interface Shortcut {
  /** KeyboardEvent.key values (case-sensitive), with 'Mod+' for Ctrl or Cmd and 'Shift+' where Shift matters. */
  readonly keys: readonly string[];
  readonly action: Action;
  readonly description: string;
  readonly group: 'Tools' | 'Instances' | 'Classes' | 'Edit' | 'View' | 'Review';
}

export const SHORTCUTS: readonly Shortcut[] = [
  { keys: ['v'], action: 'tool.select', description: 'Select tool (click again to cycle overlapping instances)', group: 'Tools' },
  { keys: ['b'], action: 'tool.box', description: 'Draw a box', group: 'Tools' },
  { keys: ['w'], action: 'tool.prompt', description: 'Box prompt: drag a box, the model segments and classifies what is in it', group: 'Tools' },
  { keys: ['p'], action: 'tool.polygon', description: 'Draw a polygon (click the first point or Enter to close)', group: 'Tools' },
  { keys: ['e'], action: 'tool.vertices', description: 'Edit outline vertices (drag; click an edge to insert; Alt-click to delete)', group: 'Tools' },
  { keys: ['m'], action: 'tool.brush', description: 'Brush: paint onto the selected mask', group: 'Tools' },
  { keys: ['x'], action: 'tool.eraser', description: 'Eraser: erase from the selected mask', group: 'Tools' },
  { keys: ['['], action: 'brush.smaller', description: 'Smaller brush', group: 'Tools' },
  { keys: [']'], action: 'brush.larger', description: 'Larger brush', group: 'Tools' },
  { keys: ['f'], action: 'mask.fillHoles', description: 'Fill holes in the selected mask', group: 'Instances' },
  { keys: ['Delete', 'Backspace'], action: 'instance.delete', description: 'Delete the selected instances', group: 'Instances' },
  { keys: ['a'], action: 'instance.accept', description: 'Accept the selected predictions', group: 'Instances' },
  { keys: ['r'], action: 'instance.reject', description: 'Reject the selected predictions', group: 'Instances' },
  { keys: ['Shift+A'], action: 'instance.acceptAbove', description: 'Accept all pending predictions at or above the threshold', group: 'Instances' },
  { keys: ['Shift+R'], action: 'instance.rejectBelow', description: 'Reject all pending predictions below the threshold', group: 'Instances' },
  { keys: ['c'], action: 'instance.crowd', description: 'Mark or unmark the selection as a crowd region (COCO iscrowd)', group: 'Instances' },
  { keys: ['Tab'], action: 'instance.next', description: 'Select the next instance', group: 'Instances' },
  { keys: ['Mod+a'], action: 'instance.selectAll', description: 'Select every instance shown (then Shift-click to leave some out)', group: 'Instances' },
  { keys: ['Escape'], action: 'instance.deselect', description: 'Close the help or a question, cancel the gesture, then deselect', group: 'Instances' },
  ...([1, 2, 3, 4, 5, 6, 7, 8, 9] as const).map((n): Shortcut => ({
    keys: [String(n)], action: `class.${n}`, description: `Class ${n}: reclassify the selection, or pick it for new instances`, group: 'Classes',
  })),
  { keys: ['Mod+z'], action: 'edit.undo', description: 'Undo', group: 'Edit' },
  { keys: ['Mod+Shift+Z', 'Mod+y'], action: 'edit.redo', description: 'Redo', group: 'Edit' },
  { keys: ['0'], action: 'view.fit', description: 'Fit the image to the window', group: 'View' },
  { keys: ['z'], action: 'view.zoomSelection', description: 'Zoom to the selection (double-click a row in the panel too)', group: 'View' },
  { keys: ['=', '+'], action: 'view.zoomIn', description: 'Zoom in', group: 'View' },
  { keys: ['-'], action: 'view.zoomOut', description: 'Zoom out', group: 'View' },
  { keys: ['Shift+M'], action: 'view.masks', description: 'Show or hide masks', group: 'View' },
  { keys: ['Shift+O'], action: 'view.outlines', description: 'Show or hide mask outlines', group: 'View' },
  { keys: ['Shift+B'], action: 'view.boxes', description: 'Show or hide boxes', group: 'View' },
  { keys: ['Shift+L'], action: 'view.labels', description: 'Show or hide labels', group: 'View' },
  { keys: ['Enter'], action: 'review.done', description: 'Mark reviewed and go to the next image needing review', group: 'Review' },
  { keys: ['d', 'ArrowRight'], action: 'image.next', description: 'Next image', group: 'Review' },
  { keys: ['s', 'ArrowLeft'], action: 'image.previous', description: 'Previous image', group: 'Review' },
  { keys: ['t'], action: 'compare.takeExtra', description: 'Compare with reviewed: take the extra prediction under the pointer (else the best left) as an annotation', group: 'Review' },
  { keys: ['?'], action: 'help.toggle', description: 'Show or hide this list', group: 'Review' },
];

export interface KeyPress {
  readonly key: string;
  readonly ctrlKey?: boolean;
  readonly metaKey?: boolean;
  readonly shiftKey?: boolean;
  readonly altKey?: boolean;
}

/** The chord a key press spells in the table's notation. */
export function chordOf(press: KeyPress): string {
  const mod = press.ctrlKey || press.metaKey ? 'Mod+' : '';
  // Shift matters for letters (A vs a is already in `key`) and for Mod chords; symbols like ? carry it in `key`.
  const letter = /^[a-z]$/i.test(press.key);
  const shift = press.shiftKey && letter ? 'Shift+' : '';
  const key = letter ? (shift ? press.key.toUpperCase() : press.key.toLowerCase()) : press.key;
  return `${mod}${shift}${key}`;
}

const byChord = new Map(SHORTCUTS.flatMap((s) => s.keys.map((k) => [k, s.action] as const)));

export function actionFor(press: KeyPress): Action | null {
  if (press.altKey) return null;
  return byChord.get(chordOf(press)) ?? null;
}
