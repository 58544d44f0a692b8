// Edits as plain-data diffs over a list of records keyed by id: the unit of undo/redo and of saving. One edit of
// annotations is a Diff<Annotation> from the editor to the store, which checks each `before` against what it holds.
import { ConflictError } from '../model/errors.js';

export interface Keyed {
  readonly id: string;
}

export interface Update<T> {
  readonly before: T;
  readonly after: T;
}

export interface Diff<T extends Keyed> {
  readonly added: readonly T[];
  readonly updated: readonly Update<T>[];
  readonly removed: readonly T[];
}

export const emptyDiff = <T extends Keyed>(): Diff<T> => ({ added: [], updated: [], removed: [] });

/** A diff of the parts given, the others empty. */
export const diffOf = <T extends Keyed>(parts: Partial<Diff<T>>): Diff<T> => ({
  added: parts.added ?? [],
  updated: parts.updated ?? [],
  removed: parts.removed ?? [],
});

export function isEmpty(diff: Diff<Keyed>): boolean {
  return diff.added.length === 0 && diff.updated.length === 0 && diff.removed.length === 0;
}

/** The diff that undoes `diff`. */
export function invert<T extends Keyed>(diff: Diff<T>): Diff<T> {
  return {
    added: diff.removed,
    updated: diff.updated.map(({ before, after }) => ({ before: after, after: before })),
    removed: diff.added,
  };
}

/** Thrown when a diff does not fit the list it is applied to (it was made against another state). */
export class DiffConflictError extends ConflictError {
  constructor(message: string) {
    super(message);
    this.name = 'DiffConflictError';
  }
}

/**
 * Applies `diff` to `list`, keeping the order of surviving records (updated ones in place) and
 * appending added ones. Refuses a diff that adds an existing id or updates/removes a missing one.
 */
export function applyDiff<T extends Keyed>(list: readonly T[], diff: Diff<T>): T[] {
  const present = new Set(list.map((r) => r.id));
  const removed = new Set<string>();
  for (const r of diff.removed) {
    if (!present.has(r.id)) throw new DiffConflictError(`cannot remove ${r.id}: not present`);
    removed.add(r.id);
  }
  const replaced = new Map<string, T>();
  for (const { before, after } of diff.updated) {
    if (before.id !== after.id) throw new DiffConflictError(`update changes id ${before.id} to ${after.id}`);
    if (!present.has(before.id) || removed.has(before.id)) throw new DiffConflictError(`cannot update ${before.id}: not present`);
    replaced.set(before.id, after);
  }
  for (const r of diff.added) {
    if (present.has(r.id) && !removed.has(r.id)) throw new DiffConflictError(`cannot add ${r.id}: already present`);
  }
  const kept = list.filter((r) => !removed.has(r.id)).map((r) => replaced.get(r.id) ?? r);
  return [...kept, ...diff.added];
}

/** One diff with the effect of `first` then `second`; records that end where they began drop out. */
export function squash<T extends Keyed>(first: Diff<T>, second: Diff<T>): Diff<T> {
  // For each id: its state before `first` and after `second`, where undefined means absent.
  const start = new Map<string, T | undefined>();
  const end = new Map<string, T | undefined>();
  const order: string[] = [];
  const note = (id: string, before: T | undefined, after: T | undefined): void => {
    if (!start.has(id)) {
      start.set(id, before);
      order.push(id);
    }
    end.set(id, after);
  };
  for (const d of [first, second]) {
    for (const r of d.removed) note(r.id, r, undefined);
    for (const u of d.updated) note(u.before.id, u.before, u.after);
    for (const r of d.added) note(r.id, undefined, r);
  }
  const added: T[] = [];
  const updated: Update<T>[] = [];
  const removed: T[] = [];
  for (const id of order) {
    const before = start.get(id);
    const after = end.get(id);
    if (before === undefined && after !== undefined) added.push(after);
    else if (before !== undefined && after === undefined) removed.push(before);
    else if (before !== undefined && after !== undefined && !sameRecord(before, after)) updated.push({ before, after });
  }
  return { added, updated, removed };
}

function sameRecord(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
