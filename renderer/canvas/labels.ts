// Where instance labels go on screen so that they do not pile up: each above its box's top-left corner, else
// just inside the box, else below it; a label that fits nowhere without covering one already placed is left out,
// unless it must be shown (the selection, the instance under the pointer), which is placed first.

export interface LabelRequest<K> {
  readonly key: K;
  /** The box on screen. */
  readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  /** The label's size on screen. */
  readonly width: number;
  readonly height: number;
  readonly must: boolean;
}

export interface PlacedLabel<K> {
  readonly key: K;
  readonly x: number;
  readonly y: number;
}

export function placeLabels<K>(requests: readonly LabelRequest<K>[]): PlacedLabel<K>[] {
  const ordered = [...requests.filter((r) => r.must), ...requests.filter((r) => !r.must)];
  const placed: (PlacedLabel<K> & { width: number; height: number })[] = [];
  const free = (x: number, y: number, width: number, height: number) =>
    placed.every((p) => x + width <= p.x || p.x + p.width <= x || y + height <= p.y || p.y + p.height <= y);
  for (const r of ordered) {
    const { x, y, height: boxHeight } = r.box;
    const candidates = [[x, y - r.height], [x, y], [x, y + boxHeight]] as const;
    const spot = candidates.find(([cx, cy]) => free(cx, cy, r.width, r.height)) ?? (r.must ? candidates[0] : undefined);
    if (spot) placed.push({ key: r.key, x: spot[0], y: spot[1], width: r.width, height: r.height });
  }
  return placed.map(({ key, x, y }) => ({ key, x, y }));
}
