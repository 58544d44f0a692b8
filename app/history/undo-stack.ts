// Unlimited undo/redo over plain-data diffs; each pushed diff is one step.
import { invert, isEmpty, type Diff, type Keyed } from './diff.js';

export class UndoStack<T extends Keyed> {
  private readonly done: Diff<T>[] = [];
  private readonly undone: Diff<T>[] = [];

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** Records a step that has just been applied; a new step clears the redo side. */
  push(diff: Diff<T>): void {
    if (isEmpty(diff)) return;
    this.done.push(diff);
    this.undone.length = 0;
  }

  /** The diff to apply to undo the last step, or null when there is none. */
  undo(): Diff<T> | null {
    const step = this.done.pop();
    if (!step) return null;
    this.undone.push(step);
    return invert(step);
  }

  /** The diff to apply to redo the last undone step, or null when there is none. */
  redo(): Diff<T> | null {
    const step = this.undone.pop();
    if (!step) return null;
    this.done.push(step);
    return step;
  }

  clear(): void {
    this.done.length = 0;
    this.undone.length = 0;
  }
}
