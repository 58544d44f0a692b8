import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyDiff, DiffConflictError, invert, isEmpty, squash, type Diff } from './diff.js';
import { UndoStack } from './undo-stack.js';

interface Rec {
  readonly id: string;
  readonly v: number;
}

const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

const listArb = fc.subarray(ids).chain((chosen) =>
  fc.tuple(...chosen.map((id) => fc.integer({ min: 0, max: 5 }).map((v): Rec => ({ id, v })))),
).map((recs) => [...recs]);

/** A diff valid against `list`: each record of the list is kept, updated or removed; unused ids may be added. */
function diffArb(list: readonly Rec[]): fc.Arbitrary<Diff<Rec>> {
  const present = new Set(list.map((r) => r.id));
  const absent = ids.filter((id) => !present.has(id));
  return fc.tuple(
    fc.tuple(...list.map((r) => fc.tuple(fc.constantFrom('keep', 'update', 'remove'), fc.integer({ min: 0, max: 5 })).map(([op, v]) => ({ r, op, v })))),
    fc.subarray(absent),
    fc.integer({ min: 0, max: 5 }),
  ).map(([ops, toAdd, v]) => ({
    added: toAdd.map((id) => ({ id, v })),
    updated: ops.filter((o) => o.op === 'update').map((o) => ({ before: o.r, after: { id: o.r.id, v: o.v } })),
    removed: ops.filter((o) => o.op === 'remove').map((o) => o.r),
  }));
}

const byId = (list: readonly Rec[]) => Object.fromEntries(list.map((r) => [r.id, r.v]));

describe('history diffs', () => {
  it('apply then apply(invert) restores the list', () => {
    fc.assert(fc.property(listArb.chain((l) => fc.tuple(fc.constant(l), diffArb(l))), ([list, diff]) => {
      const after = applyDiff(list, diff);
      expect(byId(applyDiff(after, invert(diff)))).toEqual(byId(list));
    }));
  });

  it('invert is an involution', () => {
    fc.assert(fc.property(listArb.chain(diffArb), (diff) => {
      expect(invert(invert(diff))).toEqual(diff);
    }));
  });

  it('applying squash(a, b) equals applying a then b', () => {
    const arb = listArb.chain((l) => diffArb(l).chain((a) => {
      const mid = applyDiff(l, a);
      return fc.tuple(fc.constant(l), fc.constant(a), diffArb(mid));
    }));
    fc.assert(fc.property(arb, ([list, a, b]) => {
      const stepwise = applyDiff(applyDiff(list, a), b);
      expect(byId(applyDiff(list, squash(a, b)))).toEqual(byId(stepwise));
    }));
  });

  it('squash of a diff and its inverse is empty', () => {
    fc.assert(fc.property(listArb.chain(diffArb), (diff) => {
      expect(squash(diff, invert(diff))).toEqual({ added: [], updated: [], removed: [] });
    }));
  });

  it('keeps the order of surviving records and updates in place', () => {
    const list = [{ id: 'a', v: 1 }, { id: 'b', v: 2 }, { id: 'c', v: 3 }];
    const out = applyDiff(list, { added: [{ id: 'd', v: 4 }], updated: [{ before: list[1]!, after: { id: 'b', v: 9 } }], removed: [list[0]!] });
    expect(out).toEqual([{ id: 'b', v: 9 }, { id: 'c', v: 3 }, { id: 'd', v: 4 }]);
  });

  it('refuses diffs that do not fit the list', () => {
    const list = [{ id: 'a', v: 1 }];
    expect(() => applyDiff(list, { added: [{ id: 'a', v: 2 }], updated: [], removed: [] })).toThrow(DiffConflictError);
    expect(() => applyDiff(list, { added: [], updated: [], removed: [{ id: 'z', v: 1 }] })).toThrow(/cannot remove z/);
    expect(() => applyDiff(list, { added: [], updated: [{ before: { id: 'z', v: 1 }, after: { id: 'z', v: 2 } }], removed: [] })).toThrow(/cannot update z/);
  });
});

describe('UndoStack', () => {
  it('undoes and redoes any sequence of steps back to each earlier state', () => {
    const arb = listArb.chain((l0) => {
      // three consecutive valid diffs
      return diffArb(l0).chain((d1) => {
        const l1 = applyDiff(l0, d1);
        return diffArb(l1).chain((d2) => {
          const l2 = applyDiff(l1, d2);
          return diffArb(l2).map((d3) => ({ states: [l0, l1, l2, applyDiff(l2, d3)], diffs: [d1, d2, d3] }));
        });
      });
    });
    fc.assert(fc.property(arb, ({ states, diffs }) => {
      const stack = new UndoStack<Rec>();
      let list = states[0]!;
      const kept = [list];
      for (const d of diffs) {
        list = applyDiff(list, d);
        stack.push(d);
        if (!isEmpty(d)) kept.push(list);
      }
      for (let i = kept.length - 2; i >= 0; i--) {
        const step = stack.undo();
        if (step) list = applyDiff(list, step);
        expect(byId(list)).toEqual(byId(kept[i]!));
      }
      expect(stack.undo()).toBeNull();
      for (let i = 1; i < kept.length; i++) {
        const step = stack.redo();
        if (step) list = applyDiff(list, step);
        expect(byId(list)).toEqual(byId(kept[i]!));
      }
      expect(byId(list)).toEqual(byId(states[3]!));
    }));
  });

  it('a new step clears redo', () => {
    const stack = new UndoStack<Rec>();
    stack.push({ added: [{ id: 'a', v: 1 }], updated: [], removed: [] });
    stack.undo();
    expect(stack.canRedo).toBe(true);
    stack.push({ added: [{ id: 'b', v: 1 }], updated: [], removed: [] });
    expect(stack.canRedo).toBe(false);
    expect(stack.undo()).toEqual({ added: [], updated: [], removed: [{ id: 'b', v: 1 }] });
    expect(stack.undo()).toBeNull();
  });

  it('a step carries the other value it changed: undone back to before, redone to after, kept even with an empty diff', () => {
    const stack = new UndoStack<Rec, string>();
    stack.push({ added: [], updated: [{ before: { id: 'a', v: 1 }, after: { id: 'a', v: 2 } }], removed: [] }, { before: 'in-review', after: 'reviewed' });
    stack.push({ added: [], updated: [], removed: [] }, { before: 'reviewed', after: 'new' });
    expect(stack.depth).toBe(2);
    expect(stack.undoStep()).toEqual({ diff: { added: [], updated: [], removed: [] }, also: { before: 'new', after: 'reviewed' } });
    expect(stack.undoStep()).toEqual({
      diff: { added: [], updated: [{ before: { id: 'a', v: 2 }, after: { id: 'a', v: 1 } }], removed: [] },
      also: { before: 'reviewed', after: 'in-review' },
    });
    expect(stack.depth).toBe(0);
    expect(stack.redoStep()?.also).toEqual({ before: 'in-review', after: 'reviewed' });
    expect(stack.depth).toBe(1);
  });
});
