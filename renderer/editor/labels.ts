// The words an instance is shown with, the same on the canvas and in the side panel: its class, the model that
// made it (short name), its score and whether it is stale or rejected.
import type { Annotation, Category } from '../../app/model/index.js';
import type { ModelName } from './session.js';

export function instanceLabel(a: Annotation, category: Category | undefined, model: ModelName | null): string {
  const made = model && a.origin !== 'human' ? ` · ${model.short}` : '';
  const score = a.score !== null ? ` ${a.score.toFixed(2)}` : '';
  return `${category?.name ?? '?'}${a.crowd ? ' (crowd)' : ''}${made}${score}${a.stale ? ' (stale)' : ''}${a.state === 'rejected' ? ' ✕' : ''}`;
}

/** Why a stale annotation is marked, and what marking the image reviewed will do with it; null when it is not stale. */
export function staleNote(a: Annotation, image: { readonly width: number; readonly height: number } | null): string | null {
  if (!a.stale) return null;
  const { width, height } = a.stale;
  const fits = image !== null && image.width === width && image.height === height;
  return `Stale: made for the image at ${width} x ${height} before its file changed. Marking the image reviewed ${fits ? 'keeps it (the size still fits)' : `drops it (the image is now ${image?.width ?? '?'} x ${image?.height ?? '?'}); Ctrl+Z brings it back`}.`;
}
