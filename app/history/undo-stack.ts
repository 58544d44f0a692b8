// Unlimited undo/redo over plain-data diffs; each pushed diff is one step. A step may also carry one other value
// it changed beside the records (an image's review status), which is undone and redone with them.
import { invert, isEmpty, type Diff, type Keyed } from './diff.js';

/** A value a step changed beside the records: what it was before the step and after it. */
export interface Change<V> {
  readonly before: V;
  readonly after: V;
}

/** One step as it is to be applied: the records' diff and, when the step changed it, the other value. */
export interface Step<T extends Keyed, V> {
  readonly diff: Diff<T>;
  readonly also?: Change<V>;
}

export class UndoStack<T extends Keyed, V = never> {
  private readonly done: Step<T, V>[] = [];
  private readonly undone: Step<T, V>[] = [];

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** How many steps can be undone: a mark to tell later whether anything was done (or undone) since. */
  get depth(): number {
    return this.done.length;
  }

  /** Records a step that has just been applied; a new step clears the redo side. A step changing nothing is not kept. */
  push(diff: Diff<T>, also?: Change<V>): void {
    if (isEmpty(diff) && also === undefined) return;
    this.done.push(also === undefined ? { diff } : { diff, also });
    this.undone.length = 0;
  }

  /** The diff to apply to undo the last step, or null when there is none. */
  undo(): Diff<T> | null {
    return this.undoStep()?.diff ?? null;
  }

  /** The diff to apply to redo the last undone step, or null when there is none. */
  redo(): Diff<T> | null {
    return this.redoStep()?.diff ?? null;
  }

  /** The step that undoes the last one (its diff inverted, its other value back to before), or null. */
  undoStep(): Step<T, V> | null {
    const step = this.done.pop();
    if (!step) return null;
    this.undone.push(step);
    const diff = invert(step.diff);
    return step.also === undefined ? { diff } : { diff, also: { before: step.also.after, after: step.also.before } };
  }

  /** The last undone step, to apply again, or null. */
  redoStep(): Step<T, V> | null {
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
