// The shape every editing tool has: a small state machine fed image-space pointer events.
import type { CategoryId } from '../../../app/model/index.js';
import type { ImageEditor } from '../image-editor.js';
import type { Point } from '../mask-ops.js';

export type ToolName = 'select' | 'box' | 'polygon' | 'vertices' | 'brush' | 'eraser';

export interface ToolContext {
  readonly editor: ImageEditor;
  /** The class new instances get. */
  activeCategory(): CategoryId | null;
  /** Brush/eraser radius in image pixels. */
  brushRadius(): number;
  /** Hit tolerance in image pixels (a few screen pixels at the current zoom). */
  tolerance(): number;
  /** Whether an instance is shown (threshold, visibility), so hidden ones cannot be picked. */
  isVisible(id: string): boolean;
}

/** What the canvas draws for a gesture in progress. */
export type Preview =
  | { readonly kind: 'box'; readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  | { readonly kind: 'polygon'; readonly points: readonly Point[]; readonly cursor: Point | null; readonly closable: boolean }
  | { readonly kind: 'stroke'; readonly points: readonly Point[]; readonly radius: number; readonly erase: boolean }
  /** Where the brush would paint, and how big it is, before a stroke starts. */
  | { readonly kind: 'brush'; readonly at: Point; readonly radius: number; readonly erase: boolean }
  | { readonly kind: 'vertices'; readonly polygons: readonly (readonly Point[])[]; readonly active: { polygon: number; vertex: number } | null };

export interface PointerInfo {
  readonly alt?: boolean;
  readonly shift?: boolean;
}

export interface Tool {
  readonly name: ToolName;
  down(p: Point, info?: PointerInfo): void;
  move(p: Point): void;
  up(p: Point): void;
  /** Returns true when the tool used the key. */
  key(key: string): boolean;
  /** Drops any gesture in progress. */
  cancel(): void;
  preview(): Preview | null;
}
