// Short model names for tight places (the review panel, a prediction's label on the canvas); the full name goes in
// the tooltip. Pure, so the renderer can name a model the way main does.

/** Past this many characters a short name is cut, with an ellipsis. */
export const SHORT_NAME_MAX = 16;

/**
 * A short name for each of `names` (same order), telling them apart: a card's `short_name` when given, else the
 * fewest trailing words of the name (split at '-', '_', '.' and spaces) that no other name ends with, so
 * loupe-shapes, loupe-shapes-zoo and loupe-shapes-boxes read 'shapes', 'zoo' and 'boxes'.
 */
export function shortModelNames(models: readonly { readonly name: string; readonly shortName?: string | null }[]): string[] {
  const words = models.map((m) => m.name.split(/[-_.\s]+/).filter(Boolean));
  return models.map((model, i) => {
    if (model.shortName) return clip(model.shortName);
    const own = words[i]!;
    for (let n = 1; n <= own.length; n++) {
      const tail = own.slice(-n).join('-');
      const shared = words.some((other, j) => j !== i && other.slice(-n).join('-') === tail);
      if (!shared) return clip(tail);
    }
    return clip(model.name);
  });
}

function clip(name: string): string {
  return name.length <= SHORT_NAME_MAX ? name : `${name.slice(0, SHORT_NAME_MAX - 1)}…`;
}
