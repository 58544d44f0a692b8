// The review rules, the same for the app, the CLI and the store: what counts as reviewed truth, what marking an image
// reviewed decides, and the bulk decisions of `loupe review`. Each decision is a plain Diff<Annotation>, so the store
// applies it with history entries and a client undoes it by applying its inverse.
import type { Diff, Update } from '../history/diff.js';
import type { Annotation, CategoryId } from '../model/types.js';

/** A model's prediction nobody has decided on yet (a person's edit of a prediction is a decision). */
export function isPendingPrediction(a: Annotation): boolean {
  return a.origin === 'model' && a.state === 'pending';
}

/**
 * Whether an annotation belongs to the reviewed truth an export writes: what a person made, edited or accepted,
 * never a rejected or stale one; a pending prediction only when asked for (`includePending`).
 */
export function isTruth(a: Annotation, options: { readonly includePending?: boolean } = {}): boolean {
  if (a.state === 'rejected' || a.stale !== undefined) return false;
  return isPendingPrediction(a) ? options.includePending === true : true;
}

/** What the person saw when marking an image reviewed: the score threshold and the classes hidden by the filter. */
export interface ReviewView {
  readonly threshold: number;
  readonly hiddenCategoryIds?: readonly CategoryId[];
}

/** A decision over one image's annotations: the diff to apply and what it did. */
export interface ReviewDecision {
  readonly changes: Diff<Annotation>;
  /** Annotations whose state became 'accepted'. */
  readonly accepted: number;
  readonly rejected: number;
  /** Stale annotations kept because their image still has the size they were made for. */
  readonly kept: number;
  /** Stale annotations removed because the image's size changed. */
  readonly dropped: number;
}

/** Whether a prediction is shown in `view`: at or above its threshold, of a class not hidden. Null shows nothing. */
export function isShown(a: Annotation, view: ReviewView | null): boolean {
  if (view === null || view.hiddenCategoryIds?.includes(a.categoryId)) return false;
  return a.score === null || a.score >= view.threshold;
}

/**
 * Marking an image reviewed settles it. Every pending prediction becomes a decision: accepted when shown in `view`,
 * rejected when hidden (a null view shows nothing, so every one is rejected). A person's own or edited annotation
 * still marked pending is accepted. A stale annotation is kept (no longer stale) when the image has the size it was
 * made for, and removed otherwise. Afterwards no annotation of the image is pending or stale.
 */
export function settleForReview(
  annotations: readonly Annotation[],
  image: { readonly width: number; readonly height: number },
  view: ReviewView | null,
): ReviewDecision {
  const updated: Update<Annotation>[] = [];
  const removed: Annotation[] = [];
  let accepted = 0;
  let rejected = 0;
  let kept = 0;
  for (const before of annotations) {
    let after = before;
    if (before.stale !== undefined) {
      if (before.stale.width !== image.width || before.stale.height !== image.height) {
        removed.push(before);
        continue;
      }
      after = withoutStale(before);
      kept++;
    }
    if (after.state === 'pending') {
      const state = after.origin !== 'model' || isShown(after, view) ? 'accepted' : 'rejected';
      if (state === 'accepted') accepted++;
      else rejected++;
      after = { ...after, state };
    }
    if (after !== before) updated.push({ before, after });
  }
  return { changes: { added: [], updated, removed }, accepted, rejected, kept, dropped: removed.length };
}

/** Bulk decisions on pending predictions (`loupe review`); unset rules decide nothing. */
export interface ReviewRules {
  /** Accept every pending prediction scoring at least this. */
  readonly acceptAbove?: number;
  /** Reject every pending prediction scoring below this. */
  readonly rejectBelow?: number;
  readonly acceptAll?: boolean;
  /** Reject every pending prediction no other rule accepted. */
  readonly rejectPending?: boolean;
}

/** Why a set of rules contradicts itself, or null when it does not. */
export function conflictingRules(rules: ReviewRules): string | null {
  if (rules.acceptAll && (rules.rejectPending || rules.rejectBelow !== undefined)) {
    return 'accepting all cannot be combined with a rule that rejects';
  }
  if (rules.acceptAbove !== undefined && rules.rejectBelow !== undefined && rules.acceptAbove < rules.rejectBelow) {
    return `accept above ${rules.acceptAbove} and reject below ${rules.rejectBelow} overlap`;
  }
  return null;
}

/**
 * Applies the rules to one image's pending predictions; accepting rules are tried first. A prediction with no score
 * is decided only by acceptAll and rejectPending.
 */
export function decideByRules(annotations: readonly Annotation[], rules: ReviewRules): ReviewDecision {
  const problem = conflictingRules(rules);
  if (problem !== null) throw new Error(problem);
  const updated: Update<Annotation>[] = [];
  let accepted = 0;
  let rejected = 0;
  for (const before of annotations) {
    if (!isPendingPrediction(before)) continue;
    const score = before.score;
    let state: 'accepted' | 'rejected' | null = null;
    if (rules.acceptAll || (rules.acceptAbove !== undefined && score !== null && score >= rules.acceptAbove)) state = 'accepted';
    else if (rules.rejectBelow !== undefined && score !== null && score < rules.rejectBelow) state = 'rejected';
    else if (rules.rejectPending) state = 'rejected';
    if (state === null) continue;
    if (state === 'accepted') accepted++;
    else rejected++;
    updated.push({ before, after: { ...before, state } });
  }
  return { changes: { added: [], updated, removed: [] }, accepted, rejected, kept: 0, dropped: 0 };
}

function withoutStale(a: Annotation): Annotation {
  const { stale: _stale, ...rest } = a;
  return rest;
}
