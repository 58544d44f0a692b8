import { describe, expect, it } from 'vitest';
import { actionFor, SHORTCUTS } from './shortcuts.js';

describe('shortcuts', () => {
  it('maps key presses to actions from the one table, with no key bound twice', () => {
    expect(actionFor({ key: 'z', ctrlKey: true })).toBe('edit.undo');
    expect(actionFor({ key: 'Z', ctrlKey: true, shiftKey: true })).toBe('edit.redo');
    expect(actionFor({ key: 'A', shiftKey: true })).toBe('instance.acceptAbove');
    expect(actionFor({ key: 'a' })).toBe('instance.accept');
    expect(actionFor({ key: '3' })).toBe('class.3');
    expect(actionFor({ key: 'z' })).toBe('view.zoomSelection');
    expect(actionFor({ key: 'a', ctrlKey: true })).toBe('instance.selectAll');
    expect(actionFor({ key: 'R', shiftKey: true })).toBe('instance.rejectBelow');
    expect(actionFor({ key: '?', shiftKey: true })).toBe('help.toggle');
    const keys = SHORTCUTS.flatMap((s) => s.keys);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
